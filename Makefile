# medseg-edu — one command to learn, one command to test.
#   make lab         create .venv (first time) and open JupyterLab on notebook 00
#   make test        unit tests + every notebook executed under nbval
#   make test-portable  the notebooks whose checked outputs come from inference, optimisation or training,
#                    as another CPU and a GPU's training budget would run them
#   make run         execute all notebooks headless; table of seconds and peak memory
#   make execute     re-execute notebooks in place (what gets committed)
#   make bench       method showdown + notebook profile -> benchmarks/RESULTS.md
#   make pretrained  re-train the bundled network weights in data/weights/
#   make e2e         drive the widgets in a real (headless) browser
#   make classroom   a real JupyterHub on 127.0.0.1, LEARNERS=4 simulated learners run 00, 01, 06 at once
#   make classroom-smoke  the same with one learner and notebook 00 (about 2 min)
#   make book        the executed notebooks as a static Jupyter Book in build/book/, checked in a browser
#   make book-smoke  the book of notebooks 00 and 01, checked in a browser (about 3 min with its venv)

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

.PHONY: lab test unit nbval test-portable test-other-cpus test-accelerator-budget run execute bench pretrained e2e classroom classroom-smoke book book-smoke venv clean

venv: $(STAMP)

# The venv is (re)built when it is missing or the requirements changed.
# constraints.txt pins torch to the version this project is tested with. On Linux, PyPI's
# torch wheel carries CUDA (several GB); TORCH_INDEX=https://download.pytorch.org/whl/cpu
# adds PyTorch's CPU-only index, whose 2.13.0+cpu build pip then prefers.
TORCH_INDEX ?=
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "medseg-edu needs Python >= 3.10, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) "torch==2.13.0"
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	$(PY) -c 'import torch, medseg_edu; print("installed medseg_edu with torch", torch.__version__)'
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/00_start_here.ipynb

# The unit tests on PYTEST_WORKERS pytest-xdist processes (2: both cores of a 2-core machine;
# 0 runs them in this one process), the 15 slowest listed at the end of the log. Tests marked
# slow (more than about 5 s) run too; `-m "not slow"` leaves them out of a quick local run.
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	$(PY) -m pytest -q tests -n $(PYTEST_WORKERS) --durations=15

nbval: $(STAMP)
	$(NBVAL) $(NB)

test: unit nbval

# "Another machine", met on this one. Checked cells must print the same text on any CPU,
# thread count and device. Each notebook says in its metadata where its checked outputs come
# from (metadata.medseg_edu.checked_outputs_from, read by tools/notebook_sets.py): those whose
# outputs come from inference, optimisation or training are run again with torch's portable
# kernels on one thread and numpy's AVX-512 kernels off. That one configuration changes every
# sum an AVX2-on-three-threads run changes as well, and more (tests/test_portable.py checks it
# on deliberately fragile cells). Training notebooks that take their steps from step_budget run
# once more on the CPU with the step budget a GPU gets.
# Notebooks are checked two at a time (NBVAL_WORKERS pytest-xdist processes, each running whole
# notebooks: --dist loadfile); a cell that runs 5 minutes has hung and fails with its name.
NBVAL_WORKERS ?= 2
NBVAL          = $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env \
                 --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300 \
                 -n $(NBVAL_WORKERS) --dist loadfile
PORTABLE_NB   ?= $(shell $(PYTHON) tools/notebook_sets.py portable)
BUDGET_NB     ?= $(shell $(PYTHON) tools/notebook_sets.py budget)
# numpy's AVX-512 kernels that this CPU has (disabling one it lacks would only warn)
NO_AVX512_NUMPY = $(shell $(PY) -c 'from numpy._core._multiarray_umath import __cpu_features__ as f, __cpu_dispatch__ as d; print(" ".join(x for x in d if f.get(x) and ("512" in x or x == "X86_V4")))' 2>/dev/null)
OTHER_CPU_ENV  = ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 NPY_DISABLE_CPU_FEATURES="$(NO_AVX512_NUMPY)"

test-portable: test-other-cpus test-accelerator-budget

test-other-cpus: $(STAMP)
	@test -n "$(strip $(PORTABLE_NB))" || { echo "no notebook to re-run: see tools/notebook_sets.py"; exit 1; }
	$(OTHER_CPU_ENV) $(NBVAL) $(PORTABLE_NB)

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

# A class on JupyterHub, measured here (tools/classroom.py; deploy/ has the real recipes).
LEARNERS      ?= 4
CHP_VERSION   := 5.3.0
CLASSROOM_DIR := build/classroom
CLASSROOM_STAMP := $(CLASSROOM_DIR)/.installed

$(CLASSROOM_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt $$($(PY) tools/extra_requirements.py classroom)
	mkdir -p $(CLASSROOM_DIR)/node
	npm install --silent --no-audit --no-fund --prefix $(CLASSROOM_DIR)/node configurable-http-proxy@$(CHP_VERSION)
	touch $@

classroom: $(CLASSROOM_STAMP)
	$(PY) tools/classroom.py --learners $(LEARNERS)

classroom-smoke: $(CLASSROOM_STAMP)
	$(PY) tools/classroom.py --learners 1 --notebooks 00 --time-limit 300 --report $(CLASSROOM_DIR)/smoke.json

# The book is built in its own venv (Jupyter Book pins its Sphinx stack); the browser check
# uses the project's venv with Playwright and Debian's chromium, as make e2e does.
BOOK_VENV  := build/venvs/book
BOOK_STAMP := $(BOOK_VENV)/.installed

$(BOOK_STAMP): $(STAMP) pyproject.toml constraints.txt
	test -x $(BOOK_VENV)/bin/python || $(PYTHON) -m venv $(BOOK_VENV)
	$(BOOK_VENV)/bin/pip install --quiet -c constraints.txt $$($(PY) tools/extra_requirements.py book)
	touch $@

book: $(STAMP) $(BOOK_STAMP)
	bash tools/book.sh

book-smoke: $(STAMP) $(BOOK_STAMP)
	bash tools/book.sh --notebooks 00 01

clean:
	rm -rf $(VENV) build .pytest_cache
