# The README's commands. Everything runs from a virtualenv in .venv, built
# with python3 on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: test matrix lint migrations-test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[tests]' ruff uv
	touch $@

## Run the test suite on SQLite with python3.
test: $(BIN)/.installed
	$(BIN)/python -m pytest

## Run ruff's linter and format check.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Run the migrations tests on DB=sqlite (or postgresql, mariadb).
migrations-test: $(BIN)/.installed
	$(BIN)/python -m pytest migrations_tests

## Run every supported Django and Python on SQLite, PostgreSQL and MariaDB.
matrix: $(BIN)/.installed
	$(BIN)/python .ci/matrix.py

clean:
	rm -rf $(VENV) .venvs build dist
