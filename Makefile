# Biosignal DL Course: one entry point for students, instructors and CI.
#   make lab       JupyterLab on the course (nbgrader extension enabled)
#   make run       execute every lesson and solution notebook on the embedded data; print a results table
#   make run-full  the same at full size (FAST = False, about 10 min on 2 idle cores); check each notebook's claims and
#                  degenerate results; write course/results-full.md (NOTEBOOKS="lessons/03_....ipynb" for a subset)
#   make test      the full test suite (library, notebooks, grading round trip, browser smoke test)
#   make release   regenerate assignments/ from solutions/ with nbgrader (changed files swapped in atomically)
#   make grade     autograde (sandboxed) + feedback for course/submitted/, scores to build/grades.csv (JOBS=N at once)
#   make student-dist   the student edition: dist/biosignal-course-student/ and .zip (no solutions, no grading)
#   make bench     benchmark scripts in CPU mode
#   make setup     create .venv (Python 3.11) and install the course; quick when nothing changed
#   make setup-browser   Debian's chromium, for the browser smoke test
#   sudo make hub   a whole class on this machine: JupyterHub + nbgrader's exchange (instructor guide)
#   make setup-hub   configurable-http-proxy (npm) into .venv, for the hub
# Every recipe activates the virtual environment: nbgrader shells out to `alembic`, which must be on PATH.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
TORCH_VERSION := 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
VENV := .venv
ACTIVATE := . $(VENV)/bin/activate
# The setup stamp is keyed on the files that define the environment: edit either and `make setup` reinstalls.
SETUP_STAMP := $(VENV)/.setup-stamp
ASSIGNMENT_IDS = $(notdir $(patsubst %/,%,$(dir $(wildcard solutions/*/*.ipynb))))
# `make grade UNSANDBOXED=1` grades without bubblewrap: student code then runs with your permissions.
UNSANDBOXED ?=
# `make grade JOBS=N`: N submissions graded at once, each in its own sandbox (default: the number of cores)
JOBS ?=
JUPYTER_PORT ?= 8888
# e.g. make lab LAB_ARGS=--no-browser (a remote machine); the token comes from $JUPYTER_TOKEN when set
LAB_ARGS ?=
# `sudo make hub`: the instructor's account (default: the repository's owner), the students' group, the course id
# and the exchange students and instructor share; HUB_DIR keeps the hub's database, secrets and student config.
INSTRUCTOR ?= $(shell stat -c %U .)
COURSE_GROUP ?= biosignal-students
COURSE_ID ?= biosignal-dl
EXCHANGE ?= /srv/nbgrader/exchange
HUB_DIR ?= /srv/biosignal-hub
HUB_IP ?= 127.0.0.1
HUB_PORT ?= 8000
# configurable-http-proxy 4.6.x accepts Debian 12's node 18 (5.x asks for node >= 20)
CHP_VERSION := 4.6.3

.PHONY: help setup setup-browser setup-hub hub run run-full test lab release grade student-dist bench clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

setup: $(SETUP_STAMP)

$(SETUP_STAMP): pyproject.toml constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@# torch first and alone: the CPU wheel; with no torch present other packages would pull a CUDA build.
	@# A wheelhouse the machine's pip already knows (find-links: offline labs, CI) is used as is; otherwise
	@# PyPI's Linux wheel would be the multi-GB CUDA build, so ask PyTorch's CPU index.
	$(ACTIVATE) && probe=$$(mktemp -d) \
	  && if pip download --quiet --no-index --no-deps torch==$(TORCH_VERSION) -d "$$probe" >/dev/null 2>&1; \
	     then rm -rf "$$probe"; pip install --quiet torch==$(TORCH_VERSION); \
	     else rm -rf "$$probe"; pip install --quiet torch==$(TORCH_VERSION) --index-url $(TORCH_INDEX_URL); fi
	@# The `edge` extra (Unit 4: LiteRT converter, int8 quantiser, TFLite Micro) comes after torch for the same reason:
	@# litert-torch accepts torch < 2.15 and would otherwise resolve its own. `heartpy`: Unit 4's unlabelled real PPG.
	$(ACTIVATE) && pip install --quiet -c constraints.txt -e '.[dev,edge,heartpy]'
	@# nbgrader's wheel enables its server and lab extensions on install; check rather than trust.
	@# (the listings are captured first: grep -q closing a pipe early would fail the pipeline under pipefail)
	$(ACTIVATE) && listing=$$(jupyter server extension list 2>&1) \
	  && { grep -q 'nbgrader.server_extensions.formgrader.*enabled' <<<"$$listing" \
	       || jupyter server extension enable --sys-prefix nbgrader.server_extensions.formgrader; }
	$(ACTIVATE) && listing=$$(jupyter labextension list 2>&1) && grep -q '@jupyter/nbgrader' <<<"$$listing" \
	  || { echo "nbgrader's JupyterLab extension is missing" >&2; exit 1; }
	$(ACTIVATE) && pip check
	@touch $@

# Debian's chromium for the browser smoke test (a browser download by Playwright is not possible here).
setup-browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; }

# The hub's proxy from npm, into the virtual environment (its bin/ is on PATH in every recipe; removed with it).
setup-hub: setup
	@test -x $(VENV)/bin/configurable-http-proxy && $(VENV)/bin/configurable-http-proxy --version | grep -qx '$(CHP_VERSION)' \
	  || { command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm" >&2; exit 1; }; \
	       npm install --global --prefix $(VENV) --no-audit --no-fund --loglevel=error configurable-http-proxy@$(CHP_VERSION); }

# As root: accounts, exchange and permissions (course/hub/prepare.py), then JupyterHub in the foreground.
hub: setup-hub
	@test "$$(id -u)" = 0 || { echo "make hub starts servers under every user's account: run it as root (sudo make hub)" >&2; exit 1; }
	$(ACTIVATE) && python course/hub/prepare.py --instructor $(INSTRUCTOR) --group $(COURSE_GROUP) \
	  --course-id $(COURSE_ID) --exchange $(EXCHANGE) --hub-dir $(HUB_DIR)
	$(ACTIVATE) && cd $(HUB_DIR) && BIOSIGNAL_INSTRUCTOR=$(INSTRUCTOR) BIOSIGNAL_COURSE_GROUP=$(COURSE_GROUP) \
	  BIOSIGNAL_COURSE_ID=$(COURSE_ID) BIOSIGNAL_EXCHANGE_ROOT=$(EXCHANGE) BIOSIGNAL_HUB_DIR=$(HUB_DIR) \
	  BIOSIGNAL_HUB_IP=$(HUB_IP) BIOSIGNAL_HUB_PORT=$(HUB_PORT) BIOSIGNAL_COURSE_DIR="$(CURDIR)" \
	  jupyterhub -f "$(CURDIR)/course/hub/jupyterhub_config.py"

run: setup
	$(ACTIVATE) && python course/run_course.py

# Exits non-zero when a notebook fails, a headline claim is False, or a degenerate result is shown in silence.
NOTEBOOKS ?=
run-full: setup
	$(ACTIVATE) && python course/run_course.py --full --check --build build/full --results-md course/results-full.md \
	  $(NOTEBOOKS)

test: setup
	$(ACTIVATE) && python -m pytest --durations=15

lab: setup
	$(ACTIVATE) && JUPYTER_CONFIG_PATH="$(CURDIR)/course$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  jupyter lab --ServerApp.root_dir="$(CURDIR)" --port=$(JUPYTER_PORT) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  $(LAB_ARGS)

# nbgrader writes the new release into a fresh folder; changed files are swapped in one by one (os.replace), so a
# notebook open in assignments/ keeps its folder. Grading never runs this.
release: setup
	@test -n "$(ASSIGNMENT_IDS)" || { echo "no assignment sources under solutions/" >&2; exit 1; }
	$(ACTIVATE) && python course/release.py $(ASSIGNMENT_IDS)
	$(ACTIVATE) && python course/check_outputs.py assignments

# Each submission's kernel runs in a bubblewrap sandbox (course/sandbox.py); without bwrap this refuses to run
# unless UNSANDBOXED=1. Exits non-zero only when the grading machinery fails, not when a submission misbehaves
# (those are flagged in build/grades.csv and on stderr).
grade: setup
	$(ACTIVATE) && python course/grade.py $(if $(JOBS),--jobs $(JOBS)) \
	  $(if $(filter 1 yes true,$(UNSANDBOXED)),--unsandboxed)

# What students get: lessons, released assignments, helpers, environment files, a student README and Makefile;
# never solutions/ or course/ (checked: no hidden-test line anywhere in the bundle).
student-dist:
	$(PYTHON) course/student_dist.py --out dist

bench: setup
	$(ACTIVATE) && for f in benchmarks/*.py; do \
	  echo "== $$f (CPU)"; CUDA_VISIBLE_DEVICES= python "$$f"; done

clean:
	rm -rf build dist course/autograded course/feedback course/grading-status course/solution course/source_with_tests \
	  .pytest_cache
