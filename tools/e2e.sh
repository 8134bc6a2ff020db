#!/usr/bin/env bash
# make e2e: drive the notebooks' widgets in a real headless Chromium.
# Installs what it needs: Debian's chromium (a test tool's own browser
# download does not work offline) and Playwright for Python from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

source tools/browser_deps.sh
exec "$PY" tools/e2e.py "$@"
