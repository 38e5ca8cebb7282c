"""The outbox's RQ worker takes over a scheduler's lock only once its holder is dead."""

import os
import uuid

import pytest
from django.conf import settings
from django_rq import get_connection

from email_hosts.outbox.rq_worker import STALE_SECONDS, OutboxWorker, release_stale_lock


LASTS = 61


@pytest.fixture
def lock():
    connection = get_connection(settings.RQ_QUEUE)
    key = f"email_hosts_test:{os.getpid()}:{uuid.uuid4().hex}"
    yield connection, key
    connection.delete(key)


def test_a_lock_its_scheduler_refreshes_is_kept(lock):
    connection, key = lock
    connection.set(key, "live-scheduler", ex=LASTS)
    assert release_stale_lock(connection, key, lasts=LASTS) is False
    assert connection.get(key) == b"live-scheduler"


def test_a_lock_nobody_refreshed_for_a_while_is_released(lock):
    connection, key = lock
    # As a lock its scheduler last refreshed STALE_SECONDS + 1 seconds ago.
    connection.set(key, "dead-scheduler", ex=LASTS - STALE_SECONDS - 1)
    assert release_stale_lock(connection, key, lasts=LASTS) is True
    assert connection.get(key) is None


def test_no_lock_is_left_alone(lock):
    connection, key = lock
    assert release_stale_lock(connection, key, lasts=LASTS) is False
    assert connection.exists(key) == 0


@pytest.mark.parametrize("asked", [{}, {"maintenance_interval": 600}])
def test_an_idle_worker_wakes_for_its_maintenance_within_seconds(asked):
    # RQ's own command passes its 10 minutes; django-rq's passes nothing.
    connection = get_connection(settings.RQ_QUEUE)
    worker = OutboxWorker([settings.RQ_QUEUE], connection=connection, **asked)
    assert worker.maintenance_interval <= STALE_SECONDS
    assert worker.dequeue_timeout <= STALE_SECONDS
