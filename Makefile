# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app advocacy
HOST ?= 127.0.0.1
PORT ?= 8000
export ADVOCACY_ENV ?= development

.PHONY: run test lint bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(FLASK) db upgrade
	$(FLASK) demo --if-missing --print-usage --base-url http://$(HOST):$(PORT)
	$(FLASK) staff demo-owner --base-url http://$(HOST):$(PORT)
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

test: install-dev
	ADVOCACY_ENV=test $(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check advocacy tests bench scripts
	$(BIN)/ruff format --check advocacy tests bench scripts
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) instance .pytest_cache
