#!/usr/bin/env bash
# make e2e: drive the notebooks' widgets in a real headless Chromium.
# Installs what it needs: Debian's chromium (a test tool's own browser
# download does not work offline) and Playwright for Python from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

if ! command -v chromium >/dev/null 2>&1; then
  echo "e2e: installing Debian's chromium ..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! "$PY" -c "import playwright" 2>/dev/null; then
  echo "e2e: installing Playwright for Python ..."
  "$PY" -m pip install --quiet -c constraints.txt -e ".[e2e]"
fi
exec "$PY" tools/e2e.py "$@"
