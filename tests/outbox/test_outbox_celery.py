"""
Real Celery workers deliver the outbox through django-tasks-celery, on Redis
and on RabbitMQ. On RabbitMQ, with the settings docs/outbox.rst gives, a
worker killed, frozen or cut off from its database in the middle of a batch
loses nothing and sends nothing twice: a live or restarted worker delivers
the rest, with no new mail and no command run by hand.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.conftest import ROOT, process_environment
from tests.outbox.test_outbox_recovery import (
    RECOVERY_SECONDS,
    TIMEOUT,
    _assert_settled_once,
    _end_connections_of_others,
    _kill,
    _newest_child,
    _wait_for,
    _wait_until_settled,
)
from tests.outbox.test_outbox_workers import KEYS, _queue, _statuses, _subjects


pytest.importorskip(
    "django_tasks_celery", reason="django-tasks-celery needs Django 6.0 and Python 3.12"
)
pytestmark = pytest.mark.celery

BROKERS = {
    "redis": settings.CELERY_BROKER_URL,
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}
OUTBOX = {
    "TASK_BACKEND": "celery",
    "QUEUE_NAME": settings.CELERY_QUEUE,
    "WORKER_TIMEOUT_SECONDS": TIMEOUT,
}
#: Celery warns that it runs as root, as CI runs every test.
ROOT_IS_WARNED = "ignore:You're running the worker with superuser privileges"


@pytest.fixture(params=BROKERS)
def broker(request, monkeypatch):
    """Run the test's processes on each broker in turn."""
    yield from _use_broker(request.param, monkeypatch)


@pytest.fixture
def rabbitmq(monkeypatch):
    """Run the test's processes on RabbitMQ, the broker that recovers in time."""
    yield from _use_broker("rabbitmq", monkeypatch)


def _use_broker(name, monkeypatch):
    """Point the processes the test starts at broker ``name``; empty it after."""
    monkeypatch.setenv("EMAIL_HOSTS_TEST_CELERY_BROKER", BROKERS[name])
    yield name
    if name == "rabbitmq":
        from kombu import Connection  # noqa: PLC0415 -- Celery's, where it is

        with Connection(BROKERS[name]) as broker_connection:
            channel = broker_connection.default_channel
            channel.queue_delete(settings.CELERY_QUEUE)
            channel.exchange_delete(settings.CELERY_QUEUE)
        return
    client = redis.Redis.from_url(BROKERS[name])
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def celery_workers(shared_database, tmp_path):
    """
    Start ``celery worker`` processes on the shared database, each in a
    process group of its own with its pool's children, logging to a file;
    kill whichever still run after the test.
    """
    started = []

    def start(*, pool="prefork", concurrency=1):
        log = tmp_path / f"celery-worker-{len(started)}.log"
        environment = process_environment(database=shared_database, fernet_keys=KEYS)
        environment["EMAIL_HOSTS_TEST_SETTINGS"] = json.dumps(
            {"EMAIL_HOSTS_OUTBOX": OUTBOX}
        )
        with log.open("w") as output:
            worker = subprocess.Popen(
                [sys.executable, "-W", "error", "-W", ROOT_IS_WARNED, "-m", "celery",
                 "--app", "tests.celery_app", "worker", "--pool", pool,
                 "--concurrency", str(concurrency), "--queues", settings.CELERY_QUEUE,
                 "--hostname", f"{settings.CELERY_QUEUE}-{len(started)}@%h",
                 "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        worker.log = log
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            _kill(worker)


def _on_celery(database, relay, *, count):
    """Queue ``count`` messages to ``relay``, whose 5th reply may never come."""
    _queue(database, relay.dsn(query="timeout=60"), count=count, outbox=OUTBOX)


def _logs(*workers):
    return "\n".join(worker.log.read_text() for worker in workers)


def test_a_real_celery_worker_delivers_the_outbox(
    broker, shared_database, smtp_server, celery_workers
):
    worker = celery_workers()
    _on_celery(shared_database, smtp_server, count=5)
    statuses, _seconds = _wait_until_settled(shared_database, 5, seconds=30)
    assert statuses == ["sent"] * 5, _logs(worker)
    assert _subjects(smtp_server) == sorted(f"Message {n}" for n in range(5))


def _start_mid_batch(database, smtp_server_factory, celery_workers, **worker):
    """
    Queue 20 messages and start a worker; return it and the relay once the
    relay holds the 5th message's reply, so that whatever happens to the
    worker lands between the final "." and the answer.
    """
    relay = smtp_server_factory(dies_after=5, dies_how="hang")
    _on_celery(database, relay, count=20)
    worker = celery_workers(**worker)
    _wait_for(lambda: len(relay.envelopes) >= 5)
    return worker, relay


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_a_celery_worker_killed_mid_batch_is_replaced_and_the_rest_goes_out_once(
    rabbitmq, shared_database, smtp_server_factory, celery_workers, pool
):
    worker, relay = _start_mid_batch(
        shared_database, smtp_server_factory, celery_workers, pool=pool
    )
    _kill(worker)  # The main process and its pool's child: a lost machine.
    assert _statuses(shared_database).count("sending") >= 1
    celery_workers(pool=pool)  # As systemd or a container would.
    _assert_settled_once(shared_database, relay, 20)


def test_a_celery_worker_whose_pool_child_is_killed_finishes_the_batch(
    rabbitmq, shared_database, smtp_server_factory, celery_workers
):
    worker, relay = _start_mid_batch(
        shared_database, smtp_server_factory, celery_workers, pool="prefork"
    )
    # The process the kernel's OOM killer picks: the child running the task.
    os.kill(_newest_child(worker.pid), signal.SIGKILL)
    _assert_settled_once(shared_database, relay, 20)
    assert worker.poll() is None


def test_a_frozen_celery_worker_is_taken_over_by_a_live_one(
    rabbitmq, shared_database, smtp_server_factory, celery_workers
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serves one machine, and a frozen writer locks it.")
    # With a second process free, the worker takes the runs the first one
    # enqueues for later, and holds them unacknowledged until they are due.
    frozen, relay = _start_mid_batch(
        shared_database, smtp_server_factory, celery_workers, concurrency=2
    )
    celery_workers()
    # A machine that drops off the network closes no connection: RabbitMQ
    # finds out from the missed heartbeats (CELERY_BROKER_HEARTBEAT), and
    # gives what it held to the live worker.
    os.killpg(frozen.pid, signal.SIGSTOP)
    _assert_settled_once(shared_database, relay, 20)


def test_a_celery_worker_outlives_a_database_restart_and_finishes(
    rabbitmq, shared_database, smtp_server_factory, celery_workers
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no server whose restart ends a connection.")
    worker, relay = _start_mid_batch(
        shared_database, smtp_server_factory, celery_workers, pool="prefork"
    )
    _end_connections_of_others(shared_database)
    _assert_settled_once(shared_database, relay, 20, killed_mid_message=False)
    assert worker.poll() is None  # Unlike db_worker, it needs no restart.


def _task_ids(worker, *events):
    """Return the ids of the tasks ``worker`` logged as one of ``events``."""
    pattern = rf"\[([0-9a-f-]{{36}})\] (?:{'|'.join(events)})"
    return set(re.findall(pattern, worker.log.read_text()))


def test_the_runs_a_killed_celery_worker_held_go_to_the_next_worker(
    rabbitmq, shared_database, smtp_server_factory, celery_workers
):
    # Celery's part alone, whatever the outbox does with the runs.
    worker, _relay = _start_mid_batch(
        shared_database, smtp_server_factory, celery_workers, pool="prefork"
    )
    _kill(worker)
    held = _task_ids(worker, "received") - _task_ids(worker, "succeeded", "raised")
    assert held
    restarted = celery_workers()
    deadline = time.monotonic() + RECOVERY_SECONDS
    while held - _task_ids(restarted, "received") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert held <= _task_ids(restarted, "received"), _logs(worker, restarted)
