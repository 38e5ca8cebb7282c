# The README's commands. Everything runs from a virtualenv in .venv, built
# with python3 on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: upstream demo test test-browser test-wheel docs dist matrix lint migrations-test screenshots bench bench-peers clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[tests]' ruff uv
	touch $@

# django-email-hosts 0.3.0 itself, which the upgrade tests run beside ours.
UPSTREAM = .cache/upstream/django_email_hosts-0.3.0.tar.gz
upstream: $(UPSTREAM)
$(UPSTREAM): $(BIN)/.installed
	$(BIN)/pip download --quiet --no-deps --no-binary :all: \
		--dest .cache/upstream django-email-hosts==0.3.0

## Serve the demo site on http://127.0.0.1:8000/ (admin / admin).
demo: $(BIN)/.installed
	$(BIN)/python demo/run.py

## Run the test suite on SQLite with python3, warnings as errors.
test: $(BIN)/.installed $(UPSTREAM)
	$(BIN)/python -W error -m pytest -m "not browser and not wheel" tests migrations_tests

## Run the admin in headless Chromium (Debian's chromium and chromium-driver).
test-browser: $(BIN)/.installed
	$(BIN)/python -m pytest -m browser

## Build the wheel, install it in a clean virtualenv, and send through it.
test-wheel: $(BIN)/.installed
	$(BIN)/pip install --quiet build
	$(BIN)/python -m pytest -m wheel

## Build the docs; a warning is an error.
docs: $(BIN)/.installed
	$(BIN)/pip install --quiet sphinx
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

## Build the sdist and the wheel into dist/ and check them with twine.
dist: $(BIN)/.installed
	$(BIN)/pip install --quiet build twine
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

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

## Measure resolving and sending against Django's SMTP backend (bench/),
## then the outbox against its peers (bench-peers).
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet --editable '.[bench,postgresql]'
	status=0; $(BIN)/python bench/run.py || status=$$?; \
	BENCH_DB=postgresql $(BIN)/python bench/run.py --database-only || status=$$?; \
	$(BIN)/python bench/peers.py || status=$$?; exit $$status

## Measure the outbox against django-mailer and django-post-office on
## PostgreSQL (bench/peers.py; BENCH_ARGS=--quick for a smoke run).
bench-peers: $(BIN)/.installed
	$(BIN)/pip install --quiet --editable '.[bench,postgresql]'
	$(BIN)/python bench/peers.py $(BENCH_ARGS)

## Run every supported Django and Python on SQLite, PostgreSQL and MariaDB.
matrix: $(BIN)/.installed $(UPSTREAM)
	$(BIN)/python .ci/matrix.py

clean:
	rm -rf $(VENV) .venvs .cache build dist docs/_build demo/demo.sqlite3
