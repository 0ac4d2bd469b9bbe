# sagestack: every target sets up what it needs from a fresh clone (idempotent, quick when nothing changed).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.sagestack-installed
PYTEST_ARGS ?=

.PHONY: venv demo test up down bench clean mxnet-venv

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sagestack needs Python >= 3.11; run make PYTHON=python3.11")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/sagestack demo

test: venv
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

up: venv
	$(VENV)/bin/sagestack up

down: venv
	$(VENV)/bin/sagestack down

bench: venv
	$(VENV)/bin/python -m bench

# Optional: Apache MXNet 1.9.1 (Python 3.10) for the tests that load the kit's artifacts with MXNet itself
# (tests/training/test_mxnet_loads_kit_artifacts.py finds this venv; SAGESTACK_MXNET_PYTHON overrides it).
PYTHON310 ?= python3.10
MXNET_VENV ?= $(or $(SAGESTACK_VENVS_DIR),.sagestack/venvs)/mxnet-1.9.1
mxnet-venv:
	@test -x $(MXNET_VENV)/bin/python || $(PYTHON310) -m venv $(MXNET_VENV)
	$(MXNET_VENV)/bin/python -m pip install -q --disable-pip-version-check mxnet==1.9.1 "numpy<1.24"
	@echo "MXNet 1.9.1 ready in $(MXNET_VENV); make test now runs the MXNet load tests"

clean:
	-$(VENV)/bin/sagestack down 2>/dev/null
	rm -rf $(VENV) .sagestack
