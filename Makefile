# sagestack: every target sets up what it needs from a fresh clone (idempotent, quick when nothing changed).
#
# Environments are built with uv (pinned UV_VERSION; bootstrapped with `python -m pip` into
# .sagestack/tools when no uv of that version is on PATH) from the lock files, the single source of
# exact pins: constraints.txt for .venv, emulator/localstack/requirements.lock for LocalStack's venv
# (built on first use by `sagestack up`/`demo`/the tests, with the uv exported as SAGESTACK_UV).
# `make SAGESTACK_INSTALLER=pip ...` builds the same environments with plain pip instead.
# `make demo` installs the runtime set only; `make test` adds the report's plots and the test tools.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
SAGESTACK_INSTALLER ?= uv
TOOLS := .sagestack/tools
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`: two per logical CPU, because much of a test's time is spent waiting
# for the services it started (on 2 cores, 4 workers finish in about two thirds of 2 workers' time);
# TEST_WORKERS=0 runs in one process. Modules stay whole on one worker (--dist loadscope): their
# module-scoped services start once.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
DEMO_EXTRAS :=
TEST_EXTRAS := plots,dev
export SAGESTACK_INSTALLER
# uv, unlike pip, does not precompile bytecode at install (that would add tens of seconds); the kit's
# interpreters write it on first import instead, which PYTHONDONTWRITEBYTECODE would turn into
# recompiling numpy/scipy/scikit-learn on every command (seconds each): not for the kit's processes.
unexport PYTHONDONTWRITEBYTECODE
# uv never downloads an interpreter: .venv uses $(PYTHON), LocalStack's venv a Python 3.13 found locally
export UV_PYTHON_DOWNLOADS := never

.PHONY: venv venv-dev demo test test-compose docker-engine up down bench parity clean mxnet-venv

ifeq ($(SAGESTACK_INSTALLER),pip)
UV :=
else
# uv of exactly UV_VERSION: the one on PATH when it matches, else the bootstrapped copy
UV := $(shell command -v uv >/dev/null && [ "$$(uv --version 2>/dev/null | cut -d' ' -f2)" = "$(UV_VERSION)" ] && command -v uv || echo $(CURDIR)/$(TOOLS)/bin/uv)
export SAGESTACK_UV := $(UV)
endif
# the bootstrap rule runs only when that copy is the one in use
UV_DEP := $(if $(filter $(CURDIR)/$(TOOLS)/bin/uv,$(UV)),$(TOOLS)/bin/uv)

$(TOOLS)/bin/uv:
	$(PYTHON) -m pip install -q --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

# $(call install,extras): create .venv if needed and install the project with those extras, exact pins
define install
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sagestack needs Python >= 3.11; run make PYTHON=python3.11")'
	@echo "installing .venv ($(if $(1),extras $(1),runtime set)) with $(if $(UV),uv $(UV_VERSION),pip) from constraints.txt"
	@if [ -z "$(UV)" ]; then \
	  test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV); \
	  $(VENV)/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.$(if $(1),[$(1)])'; \
	else \
	  test -x $(VENV)/bin/python || $(UV) venv -q -p "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(VENV); \
	  $(UV) pip install -q -p $(VENV)/bin/python -c constraints.txt -e '.$(if $(1),[$(1)])'; \
	fi
endef

# one stamp per installed set; the test set includes the demo set
$(VENV)/.sagestack-demo: pyproject.toml constraints.txt | $(UV_DEP)
	$(call install,$(DEMO_EXTRAS))
	@touch $@

$(VENV)/.sagestack-installed: pyproject.toml constraints.txt | $(UV_DEP)
	$(call install,$(TEST_EXTRAS))
	@touch $@ $(VENV)/.sagestack-demo

venv: $(VENV)/.sagestack-demo
venv-dev: $(VENV)/.sagestack-installed

demo: venv
	$(VENV)/bin/sagestack demo

# everything but the compose tests, then the compose tests (skipped, saying why, without a Docker engine)
test: venv-dev
	$(VENV)/bin/python -m pytest -m "not compose" -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)
	$(VENV)/bin/python -m pytest -m compose tests/compose $(PYTEST_ARGS)

test-compose: venv-dev
	$(VENV)/bin/python -m pytest -m compose tests/compose $(PYTEST_ARGS)

# a Docker engine + compose v2 + the Dockerfiles' base images (root; see tools/docker/engine.sh)
docker-engine:
	tools/docker/engine.sh emulator/localstack/Dockerfile emulator/sagemaker/Dockerfile

up: venv
	$(VENV)/bin/sagestack up

down: venv
	$(VENV)/bin/sagestack down

bench: venv-dev
	$(VENV)/bin/python -m bench

# Optional: Apache MXNet 1.9.1 (Python 3.10) for the tests that load the kit's artifacts with MXNet itself
# (tests/training/test_mxnet_loads_kit_artifacts.py finds this venv; SAGESTACK_MXNET_PYTHON overrides it).
# python3.10 from PATH or pyenv, found as LocalStack's launcher finds its interpreters
PYTHON310 ?= $(shell python3 -c 'import sys; sys.path.insert(0, "emulator/localstack/plugin"); from sagestack_localstack.interpreters import find_python; print(find_python("3.10"))' 2>/dev/null || echo python3.10)
MXNET_VENV ?= $(or $(SAGESTACK_VENVS_DIR),.sagestack/venvs)/mxnet-1.9.1
mxnet-venv:
	@test -x $(MXNET_VENV)/bin/python || $(PYTHON310) -m venv $(MXNET_VENV)
	$(MXNET_VENV)/bin/python -m pip install -q --disable-pip-version-check mxnet==1.9.1 numpy==1.23.5
	@echo "MXNet 1.9.1 ready in $(MXNET_VENV); make test now runs the MXNet load tests"

# LocalStack's own parity tests (Lambda, API Gateway; Python runtimes) against the kit's LocalStack.
# PARITY_ARGS="--source /path/to/localstack-checkout" to use a checkout instead of cloning once.
PARITY_ARGS ?=
parity: venv
	$(VENV)/bin/python -m emulator.localstack.parity $(PARITY_ARGS)

clean:
	-$(VENV)/bin/sagestack down 2>/dev/null
	rm -rf $(VENV) .sagestack
