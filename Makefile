# medseg-edu — one command to learn, one command to test.
#   make lab         create .venv (first time) and open JupyterLab on notebook 00
#   make test        unit tests + every notebook executed under nbval
#   make test-portable  the notebooks that optimise or train, as other CPUs and a GPU budget would run them
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

.PHONY: lab test unit nbval test-portable test-other-cpus test-accelerator-budget run execute bench pretrained e2e venv clean

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
	$(NBVAL) $(NB)

test: unit nbval

# "Another machine", met on this one. Checked cells must print the same text on any CPU,
# thread count and device. Notebooks 03 on optimise (registration) or train/run networks, so
# they are run again (1) with torch's and numpy's portable kernels on one thread, (2) with
# AVX2 kernels on three threads, and (3) on the CPU but with the step budget a GPU gets.
NBVAL          = $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env \
                 --nbval-sanitize-with tests/nbval_sanitize.cfg
PORTABLE_NB   ?= $(filter-out notebooks/00_% notebooks/01_% notebooks/02_%,$(sort $(wildcard notebooks/*.ipynb)))
BUDGET_NB     ?= $(shell grep -l "step_budget" $(PORTABLE_NB))
# numpy's AVX-512 kernels that this CPU has (disabling one it lacks would only warn)
NO_AVX512_NUMPY = $(shell $(PY) -c 'from numpy._core._multiarray_umath import __cpu_features__ as f, __cpu_dispatch__ as d; print(" ".join(x for x in d if f.get(x) and ("512" in x or x == "X86_V4")))' 2>/dev/null)

test-portable: test-other-cpus test-accelerator-budget

test-other-cpus: $(STAMP)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 NPY_DISABLE_CPU_FEATURES="$(NO_AVX512_NUMPY)" \
	    $(NBVAL) $(PORTABLE_NB)
	ATEN_CPU_CAPABILITY=avx2 OMP_NUM_THREADS=3 $(NBVAL) $(PORTABLE_NB)

test-accelerator-budget: $(STAMP)
	$(if $(strip $(BUDGET_NB)),MEDSEG_EDU_DEVICE=cpu MEDSEG_EDU_BUDGET=accelerator $(NBVAL) $(BUDGET_NB),@echo "no notebook takes its budget from step_budget")

run: $(STAMP)
	$(PY) tools/run_notebooks.py --json benchmarks/notebook_times.json $(NB)

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
