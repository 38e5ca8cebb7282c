"""
The outbox heals itself: real worker processes are killed with SIGKILL, or
lose their database, while the relay holds a message's reply; a worker
started again, as systemd or a container would, delivers the rest, with
no new mail and no command run by hand, and sends nothing twice.

Workers here count as dead after 2 seconds without a heartbeat, where
sites wait ``WORKER_TIMEOUT_SECONDS`` (20): the steps are the same, and the
suite runs on every database and Django.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection

from email_hosts import conf
from tests.conftest import ROOT, process_environment
from tests.outbox.test_outbox_workers import KEYS, _queue, _statuses, _subjects


#: Starts real worker processes: .ci/matrix.py runs these in some cells.
pytestmark = pytest.mark.processes


TIMEOUT = 2
#: What a site's recovery may take, at most (the issue's 60 seconds).
RECOVERY_SECONDS = 60


def _outbox(backend):
    options = {"TASK_BACKEND": backend, "WORKER_TIMEOUT_SECONDS": TIMEOUT}
    if backend == "rq":
        options["QUEUE_NAME"] = settings.RQ_QUEUE
    return options


def _start_worker(database, backend):
    """Start a worker that runs until it is killed, in a process group of its own."""
    environment = process_environment(database=database, fernet_keys=KEYS)
    environment["EMAIL_HOSTS_TEST_SETTINGS"] = json.dumps(
        {"EMAIL_HOSTS_OUTBOX": _outbox(backend)}
    )
    if backend == "database":
        command = ["db_worker", "--backend", "database", "--interval", "0.2",
                   "--no-startup-delay", "--no-reload"]  # fmt: skip
    else:
        command = ["rqworker", "--with-scheduler", "--worker-class",
                   "email_hosts.outbox.rq_worker.OutboxWorker", "--job-class",
                   "django_tasks_rq.Job", settings.RQ_QUEUE]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "django", *command],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _hanging_relay_with_mail(database, smtp_server_factory, *, takes, count, backend):
    """
    Start a relay that takes ``takes`` messages and holds its reply to the
    last, so that a kill lands between the final "." and the answer; queue
    ``count`` messages to it for ``backend``'s workers.
    """
    relay = smtp_server_factory(dies_after=takes, dies_how="hang")
    _queue(
        database, relay.dsn(query="timeout=60"), count=count, outbox=_outbox(backend)
    )
    return relay


def _kill(worker):
    """SIGKILL the worker and every process it started, as a lost machine."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


@pytest.fixture
def workers():
    """Start workers; kill whichever still run after the test."""
    started = []

    def start(database, backend):
        worker = _start_worker(database, backend)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            _kill(worker)


def _wait_until_settled(database, count, *, seconds=RECOVERY_SECONDS):
    """Wait until no message is on its way; return the statuses and the time taken."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        statuses = _statuses(database)
        if len(statuses) == count and not {"queued", "claimed", "sending"} & set(
            statuses
        ):
            break
        time.sleep(0.2)
    return statuses, time.monotonic() - started


def _assert_settled_once(database, relay, count, *, killed_mid_message=True):
    """
    Check that every message settled within the time a site's recovery may
    take: sent, or uncertain where a connection had it on its way when its
    worker died (one per connection the run had open); and that none
    reached the relay twice, and every sent one reached it.
    """
    statuses, seconds = _wait_until_settled(database, count)
    sent, uncertain = statuses.count("sent"), statuses.count("uncertain")
    assert sent + uncertain == count, (statuses, seconds)
    if killed_mid_message:
        assert 1 <= uncertain <= conf.outbox().CONNECTIONS_PER_HOST
    subjects = _subjects(relay)
    assert len(set(subjects)) == len(subjects)  # Nothing twice.
    assert sent <= len(subjects) <= count


def _wait_for(condition, *, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()


def _rq_is_clean():
    """Drop what an earlier run of this test left in this run's RQ queue."""
    from django_rq import get_queue  # noqa: PLC0415

    queue = get_queue(settings.RQ_QUEUE)
    queue.empty()
    for registry in (queue.scheduled_job_registry, queue.started_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id)


def test_a_worker_killed_mid_batch_is_replaced_and_the_rest_goes_out_once(
    shared_database, smtp_server_factory, workers
):
    relay = _hanging_relay_with_mail(
        shared_database, smtp_server_factory, takes=5, count=20, backend="database"
    )
    worker = workers(shared_database, "database")
    _wait_for(lambda: len(relay.envelopes) >= 5)
    _kill(worker)
    assert _statuses(shared_database).count("sending") >= 1
    # As systemd or a container restarts it; nothing else happens.
    workers(shared_database, "database")
    _assert_settled_once(shared_database, relay, 20)


@pytest.mark.parametrize("backend", ["database", "rq"])
def test_a_live_worker_takes_over_from_a_dead_run(
    shared_database, smtp_server_factory, workers, backend
):
    if backend == "rq":
        _rq_is_clean()
    relay = _hanging_relay_with_mail(
        shared_database, smtp_server_factory, takes=3, count=10, backend=backend
    )
    if backend == "database":
        doomed = workers(shared_database, backend)
        _wait_for(lambda: len(relay.envelopes) >= 3)
        survivor = workers(shared_database, backend)  # Idle: no task is ready.
        _kill(doomed)
    else:
        # An RQ worker runs each job in a child it forks (its work horse),
        # the process the kernel's OOM killer would pick: it dies, and the
        # worker, with its scheduler, lives on.
        survivor = workers(shared_database, backend)
        _wait_for(lambda: len(relay.envelopes) >= 3)
        os.kill(_newest_child(survivor.pid), signal.SIGKILL)
    _assert_settled_once(shared_database, relay, 10)
    assert survivor.poll() is None


def test_a_whole_rq_worker_lost_with_its_scheduler_is_replaced_within_a_minute(
    shared_database, smtp_server_factory, workers
):
    # As a lost machine: the worker, its work horse and its scheduler die,
    # and the scheduler's lock stays behind for a minute. RQ's own worker
    # would take the lock over only at its maintenance, 10 minutes later.
    if connection.vendor != "postgresql":
        pytest.skip("The lock lives in Redis: the matrix shows it on PostgreSQL.")
    _rq_is_clean()
    relay = _hanging_relay_with_mail(
        shared_database, smtp_server_factory, takes=3, count=10, backend="rq"
    )
    doomed = workers(shared_database, "rq")
    _wait_for(lambda: len(relay.envelopes) >= 3)
    # The work horse runs in a session of its own: kill it with the rest.
    for pid in _descendants(doomed.pid):
        os.kill(pid, signal.SIGKILL)
    _kill(doomed)
    workers(shared_database, "rq")  # Restarted, as systemd would.
    _assert_settled_once(shared_database, relay, 10)


def _descendants(pid):
    """Return the processes that process ``pid`` started, and theirs."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _newest_child(pid):
    """Return the child of process ``pid`` started last: an RQ worker's horse."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()

    def started(child):
        return int(
            Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[19]
        )

    return int(max(children, key=started))


def test_a_worker_that_loses_its_database_is_restarted_and_finishes(
    shared_database, smtp_server_factory, workers
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no server whose restart ends a connection.")
    relay = _hanging_relay_with_mail(
        shared_database, smtp_server_factory, takes=5, count=20, backend="database"
    )
    worker = workers(shared_database, "database")
    _wait_for(lambda: len(relay.envelopes) >= 5)
    # What a database restart does to its clients: every connection of
    # the worker ends ("terminating connection due to administrator
    # command" on PostgreSQL).
    _end_connections_of_others(shared_database)
    worker.wait(timeout=60)  # django-tasks-db's worker exits on it.
    workers(shared_database, "database")
    _assert_settled_once(shared_database, relay, 20, killed_mid_message=False)


#: MariaDB's error for KILL of a connection that has ended.
UNKNOWN_THREAD_ID = 1094


def _end_connections_of_others(database):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            )
            return
        cursor.execute(
            "SELECT id FROM information_schema.processlist"
            " WHERE db = %s AND id <> CONNECTION_ID()",
            [database],
        )
        for (connection_id,) in cursor.fetchall():
            try:
                cursor.execute(f"KILL {int(connection_id)}")
            except OperationalError as exc:
                if exc.args[0] != UNKNOWN_THREAD_ID:
                    raise  # Else it ended by itself since: so much the better.
