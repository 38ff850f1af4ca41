# Two commands set everything up on a fresh machine with Python ≥ 3.11 and make:
#   make run   — CityOps with the Đắk Lắk demo on SQLite at http://127.0.0.1:8000
#   make test  — the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export CITYOPS_PORT ?= 8000

.PHONY: run test install install-test lint migrations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

run: install
	mkdir -p var
	$(BIN)/cityops migrate
	$(BIN)/cityops demo load
	$(BIN)/cityops serve --port $(CITYOPS_PORT)

test: install-test
	$(BIN)/ruff check src tests $(wildcard bench/*.py)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check src tests $(wildcard bench/*.py)

clean:
	rm -rf $(VENV) var .pytest_cache build src/*.egg-info
