# medseg-edu — one command to learn, one command to test.
#   make lab         create .venv (first time) and open JupyterLab on notebook 00
#   make test        unit tests + every notebook executed under nbval
#   make run         execute all notebooks headless; table of seconds and peak memory
#   make execute     re-execute notebooks in place (what gets committed)
#   make bench       method showdown + notebook profile -> benchmarks/RESULTS.md
#   make pretrained  re-train the bundled network weights in data/weights/
#   make e2e         drive the widgets in a real (headless) browser

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.medseg-edu-installed
NB     ?= notebooks/*.ipynb

# Notebooks and tests run with 2 threads, like the CI machine and a laptop.
export OMP_NUM_THREADS ?= 2
# Idle OpenMP threads sleep instead of spinning: training stays fast on a busy laptop.
export OMP_WAIT_POLICY ?= PASSIVE
export MPLBACKEND ?= module://matplotlib_inline.backend_inline
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: lab test unit nbval run execute bench pretrained e2e venv clean

venv: $(STAMP)

# The venv is (re)built when it is missing or the requirements changed.
# constraints.txt pins torch to the CPU build this project is tested with.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "medseg-edu needs Python >= 3.10, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt "torch==2.13.0"
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	$(PY) -c 'import torch, medseg_edu; print("installed medseg_edu with torch", torch.__version__)'
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/00_start_here.ipynb

unit: $(STAMP)
	$(PY) -m pytest -q tests

nbval: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg $(NB)

test: unit nbval

run: $(STAMP)
	$(PY) tools/run_notebooks.py $(NB)

execute: $(STAMP)
	$(PY) tools/run_notebooks.py --inplace $(NB)

bench: $(STAMP)
	$(PY) tools/bench.py

pretrained: $(STAMP)
	$(PY) tools/make_pretrained.py

e2e: $(STAMP)
	bash tools/e2e.sh

clean:
	rm -rf $(VENV) build .pytest_cache
