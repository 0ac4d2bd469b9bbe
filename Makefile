# sagestack: every target sets up what it needs from a fresh clone (idempotent, quick when nothing changed).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.sagestack-installed
PYTEST_ARGS ?=

.PHONY: venv demo test up down bench clean

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

clean:
	-$(VENV)/bin/sagestack down 2>/dev/null
	rm -rf $(VENV) .sagestack
