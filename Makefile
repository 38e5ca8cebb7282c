# The README's commands. Everything runs from a virtualenv in .venv, built
# with python3 on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test test-browser matrix lint migrations-test screenshots bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[tests]' ruff uv
	touch $@

## Serve the demo site on http://127.0.0.1:8000/ (admin / admin).
demo: $(BIN)/.installed
	$(BIN)/python demo/run.py

## Run the test suite on SQLite with python3.
test: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not browser"

## Run the admin in headless Chromium (Debian's chromium and chromium-driver).
test-browser: $(BIN)/.installed
	$(BIN)/python -m pytest -m browser

## Refresh the admin screenshots in docs/_static/ from the browser tests.
screenshots: $(BIN)/.installed
	EMAIL_HOSTS_SCREENSHOTS=docs/_static $(BIN)/python -m pytest -m browser

## Run ruff's linter and format check.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Run the migrations tests on DB=sqlite (or postgresql, mariadb).
migrations-test: $(BIN)/.installed
	$(BIN)/python -m pytest migrations_tests

## Measure resolving and sending against Django's SMTP backend (bench/).
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet 'psycopg[binary]'
	$(BIN)/python bench/run.py
	BENCH_DB=postgresql $(BIN)/python bench/run.py --scale-only

## Run every supported Django and Python on SQLite, PostgreSQL and MariaDB.
matrix: $(BIN)/.installed
	$(BIN)/python .ci/matrix.py

clean:
	rm -rf $(VENV) .venvs build dist demo/demo.sqlite3
