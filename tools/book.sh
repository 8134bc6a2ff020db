#!/usr/bin/env bash
# make book: build the book (tools/book.py) and check it in headless Chromium.
# Installs the browser side as make e2e does: Debian's chromium and Playwright for Python.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

if ! command -v chromium >/dev/null 2>&1; then
  echo "book: installing Debian's chromium ..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! "$PY" -c "import playwright" 2>/dev/null; then
  echo "book: installing Playwright for Python ..."
  "$PY" -m pip install --quiet -c constraints.txt -e ".[e2e]"
fi
exec "$PY" tools/book.py "$@"
