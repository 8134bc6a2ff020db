#!/usr/bin/env bash
# make book: build the book (tools/book.py) and check it in headless Chromium.
# Installs the browser side as make e2e does: Debian's chromium and Playwright for Python.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

source tools/browser_deps.sh
exec "$PY" tools/book.py "$@"
