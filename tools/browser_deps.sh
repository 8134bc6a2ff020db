# Sourced by tools/e2e.sh and tools/book.sh: make sure the headless browser side is installed.
# Debian's chromium (a test tool's own browser download does not work offline) and
# Playwright for Python from PyPI. Expects $PY and the repository root as the working folder.
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium ..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! "$PY" -c "import playwright" 2>/dev/null; then
  echo "installing Playwright for Python ..."
  "$PY" -m pip install --quiet -c constraints.txt $("$PY" tools/extra_requirements.py e2e)
fi
