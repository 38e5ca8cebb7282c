"""
Run the test suite for every supported Django and Python, on SQLite, and
with the cells that SQLITE_ONLY does not name on PostgreSQL and MariaDB too,
with warnings as errors, then the migrations tests;
and on Django 5.2 and 6.1, Django's own mail and debug page tests against
this package. On PostgreSQL and MariaDB only the tests that use a database
run: the others are the same on each, and the SQLite run has them. The runs
of all cells share a pool of AT_ONCE processes.

A missing interpreter or an unreachable database fails the run: CI must
never pass by skipping a cell. Usage: python .ci/matrix.py [CELL ...], where
CELL is a name such as dj52-py311 (default: all).
"""

import dataclasses
import glob
import os
import subprocess
import sys
import tarfile
import tempfile
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
#: Cells that run on SQLite alone: what they vary (the lower bounds of the
#: dependencies; Python 3.12 under Django 6.1) does not depend on the
#: database, and other cells run the same Django and the same Python on
#: PostgreSQL and MariaDB (dj52-py311, dj60-py312, dj61-py313).
SQLITE_ONLY = {"lowest-py310", "dj61-py312"}
#: Cells whose runs start real worker processes (tests marked processes):
#: the oldest and the newest Django, on every database. The others' runs
#: leave them out, as they take a minute a run, and what they test (workers
#: killed and restarted, connections at once) is the database's and the
#: task queue's behaviour, not Python's.
PROCESS_CELLS = {"dj52-py311", "dj61-py313"}
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


#: Runs at once. The suite spends part of its time waiting for relays,
#: workers and databases, and a pool keeps both cores busy across cells,
#: where running cell by cell left one idle while each cell's longest run
#: finished.
AT_ONCE = 3
SUITE = [
    "-W", "error", "-m", "pytest", "-q", "-p", "no:cacheprovider",
    "-m", "not browser and not wheel", "tests", "migrations_tests",
]  # fmt: skip
#: The one run that also runs the tests of real Celery workers on RabbitMQ
#: and Redis (marked celery): they test Celery and its brokers, the same in
#: every cell, for minutes; the newest Django and Python, and PostgreSQL for
#: the database restart that SQLite cannot have. The outbox's own recovery
#: runs with db_worker and rqworker in every run.
CELERY_RUN = "dj61-py313/postgresql"


def suite_of(run):
    """Return the suite's arguments for ``run`` (cell/database)."""
    left_out = ["browser", "wheel"]
    if run != CELERY_RUN:
        left_out.append("celery")
    if run.partition("/")[0] not in PROCESS_CELLS:
        left_out.append("processes")
    markers = " and ".join(f"not {marker}" for marker in left_out)
    return [
        markers if argument == "not browser and not wheel" else argument
        for argument in SUITE
    ]


@dataclasses.dataclass
class Job:
    """One run of the matrix: a cell's suite on a database, or Django's tests."""

    name: str
    command: list
    env: dict
    process: subprocess.Popen = None
    log: object = None
    started: float = 0.0
    seconds: float = 0.0


def jobs_of(cell, python):
    """
    Return the cell's runs: the suite on each database, and Django's own
    tests where the cell runs them. Each run has its own databases and Redis
    keys (tests/settings.py), so any of them can run beside any other.
    """
    jobs = []
    for database in ["sqlite"] if cell in SQLITE_ONLY else DATABASES:
        if f"{cell}/{database}" in done_by_make_test():
            print(f"+ {cell} on {database}: run by make test", flush=True)
            continue
        env = os.environ | {"DB": database, "PYTHONWARNINGS": "error"}
        if database != "sqlite":
            # Tests without a database run the same on each: SQLite has them.
            env["EMAIL_HOSTS_DATABASE_TESTS_ONLY"] = "1"
        jobs.append(
            Job(f"{cell} {database}", [python, *suite_of(f"{cell}/{database}")], env)
        )
    if cell in DJANGO_TESTS:
        tests = django_tests(python)
        jobs += [
            Job(
                f"{cell} django-{suite}",
                [python, "-W", "error", ".ci/django_tests.py", suite, tests],
                dict(os.environ),
            )
            for suite in ("mail", "debug", "debug-sensitive")
        ]
    return jobs


def run_all(jobs):
    """
    Run ``jobs``, :data:`AT_ONCE` at a time, in order; print each one's whole
    output as it ends. After a failure, start no more of them. Return
    whether every job that ran passed.
    """
    waiting, running, failed = list(jobs), [], []
    while waiting or running:
        while waiting and len(running) < AT_ONCE and not failed:
            job = waiting.pop(0)
            job.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 -- closed as it ends
            print(f"+ {job.name}:", *job.command, flush=True)
            job.process = subprocess.Popen(
                job.command,
                cwd=ROOT,
                env=job.env,
                stdout=job.log,
                stderr=subprocess.STDOUT,
            )
            job.started = time.monotonic()
            running.append(job)
        if failed and not running:
            break
        time.sleep(0.5)
        for job in [job for job in running if job.process.poll() is not None]:
            running.remove(job)
            job.seconds = time.monotonic() - job.started
            job.log.seek(0)
            print(f"--- {job.name} (exit {job.process.returncode})", flush=True)
            print(job.log.read(), flush=True)
            job.log.close()
            if job.process.returncode:
                failed.append(job.name)
    if failed:
        print(f"matrix: failed: {', '.join(failed)}", flush=True)
    return not failed


def main(cells):
    jobs = [job for cell in cells for job in jobs_of(cell, install(cell))]
    # The longest first, so that no long run is left to end alone.
    jobs.sort(key=lambda job: job.name != CELERY_RUN.replace("/", " "))
    if not run_all(jobs):
        sys.exit(1)
    print("\nmatrix: every cell passed")
    for job in jobs:
        print(f"  {job.name:30} {job.seconds:6.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:] or list(CELLS))
