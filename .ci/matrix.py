"""
Run the test suite for every supported Django and Python, on SQLite,
PostgreSQL and MariaDB, with warnings as errors, then the migrations tests;
and on Django 5.2 and 6.1, Django's own mail and debug page tests against
this package. On PostgreSQL and MariaDB only the tests that use a database
run: the others are the same on each, and the SQLite run has them.

A missing interpreter or an unreachable database fails the run: CI must
never pass by skipping a cell. Usage: python .ci/matrix.py [CELL ...], where
CELL is a name such as dj52-py311 (default: all).
"""

import glob
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".venvs"
CELLS = {
    # The lower bounds of every runtime dependency, on the oldest Python.
    "lowest-py310": (
        [
            "django==5.2.15",
            "speckenv==6.3.0",
            "django-fernet-fields-v2==0.9",
            "authlib==1.3.0",
            "requests==2.31.0",
        ],
        "3.10",
    ),
    "dj52-py311": (["django>=5.2.15,<6.0"], "3.11"),
    "dj60-py312": (["django>=6.0.6,<6.1"], "3.12"),
    "dj61-py312": (["django>=6.1,<6.2"], "3.12"),
    "dj61-py313": (["django>=6.1,<6.2"], "3.13"),
}
DATABASES = ["sqlite", "postgresql", "mariadb"]
UV = Path(sys.executable).parent / "uv"
DJANGO_SDISTS = ROOT / ".cache" / "django"
#: Cells that also run Django's own mail and debug page tests against this
#: package (.ci/django_tests.py).
#: 6.1's import email.errors.HeaderWriteError, which Python 3.12.1 lacks.
DJANGO_TESTS = {"dj52-py311", "dj61-py313"}


def interpreter(version):
    """Return the path of a Python ``version``, or exit saying it is missing."""
    candidates = sorted(
        glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python")
        + glob.glob(f"/usr/bin/python{version}")
        + glob.glob(f"/usr/local/bin/python{version}")
    )
    if not candidates:
        sys.exit(f"matrix: Python {version} is missing; install it, do not skip it.")
    return candidates[-1]


def run(*args, env=None):
    print("+", " ".join(str(arg) for arg in args), flush=True)
    subprocess.run(args, check=True, cwd=ROOT, env=env)


def install(cell):
    requirements, python = CELLS[cell]
    venv = VENVS / cell
    run(
        UV, "venv", "--quiet", "--allow-existing", "--python", interpreter(python), venv
    )
    run(
        UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
        "--editable", ".[tests,postgresql,mariadb]", *requirements,
    )  # fmt: skip
    return venv / "bin" / "python"


def django_tests(python):
    """Return the tests of the sdist of the Django that ``python`` runs."""
    version = subprocess.run(
        [python, "-c", "import django; print(django.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    tests = DJANGO_SDISTS / f"django-{version}" / "tests"
    if not tests.exists():
        run(
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", "--python-version", "3.12",
            "--dest", DJANGO_SDISTS, f"django=={version}",
        )  # fmt: skip
        with tarfile.open(DJANGO_SDISTS / f"django-{version}.tar.gz") as sdist:
            members = [
                m for m in sdist if m.name.startswith(f"django-{version}/tests/")
            ]
            sdist.extractall(DJANGO_SDISTS, members=members, filter="data")
    return tests


def done_by_make_test():
    """
    Return the runs (cell/database) that make test ran already, as .ci/run
    says in MATRIX_DONE_BY_MAKE_TEST: its SQLite run on python3 and the
    newest Django 5.2 is the dj52-py311 cell's.
    """
    return set(filter(None, os.environ.get("MATRIX_DONE_BY_MAKE_TEST", "").split()))


def run_on_every_database(cell, python):
    """
    Run the suite on each database at once, as their runs spend most of
    their time waiting for relays, workers and databases rather than on
    the CPU; print each run's output, and fail if any failed. Each run has
    its own databases and Redis keys (tests/settings.py). Return each
    database's seconds.
    """
    logs = VENVS / f"{cell}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    runs = {}
    for database in DATABASES:
        if f"{cell}/{database}" in done_by_make_test():
            print(f"+ {cell} on {database}: run by make test", flush=True)
            continue
        env = os.environ | {"DB": database, "PYTHONWARNINGS": "error"}
        if database != "sqlite":
            # Tests without a database run the same on each: SQLite has them.
            env["EMAIL_HOSTS_DATABASE_TESTS_ONLY"] = "1"
        log = (logs / f"{database}.log").open("w+")
        command = [
            python, "-W", "error", "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-m", "not browser and not wheel", "tests", "migrations_tests",
        ]  # fmt: skip
        print(f"+ DB={database}", *command, flush=True)
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        runs[database] = (process, log, time.monotonic())
    seconds, failed = {}, []
    while len(seconds) < len(runs):  # Each run's own time, as it ends.
        for database, (process, _log, started) in runs.items():
            if database not in seconds and process.poll() is not None:
                seconds[database] = time.monotonic() - started
        time.sleep(0.5)
    for database, (process, log, _started) in runs.items():
        log.seek(0)
        print(f"--- {cell} on {database} (exit {process.returncode})", flush=True)
        print(log.read(), flush=True)
        log.close()
        if process.returncode:
            failed.append(database)
    if failed:
        sys.exit(f"matrix: {cell} failed on {', '.join(failed)}")
    return seconds


def main(cells):
    results = []
    for cell in cells:
        python = install(cell)
        for database, seconds in run_on_every_database(cell, python).items():
            results.append((cell, database, seconds))
        if cell in DJANGO_TESTS:
            started = time.monotonic()
            for suite in ("mail", "debug", "debug-sensitive"):
                run(
                    python,
                    "-W",
                    "error",
                    ".ci/django_tests.py",
                    suite,
                    django_tests(python),
                )
            results.append((cell, "django", time.monotonic() - started))
    print("\nmatrix: every cell passed")
    for cell, database, seconds in results:
        print(f"  {cell:12} {database:10} {seconds:6.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:] or list(CELLS))
