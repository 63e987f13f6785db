# The two commands of the README's quick start. Both build the project-local
# environment (.venv/) first if it is missing; see tools/setup_env.sh.
VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: env demo test

env:
	@bash tools/setup_env.sh

demo: env
	@VENV=$(VENV) bash tools/run_demo.sh

test: env
	$(PYTHON) -m pytest tests
