"""
Real worker processes deliver the outbox: django-tasks-db's ``db_worker``,
two at once, and RQ's ``rqworker``. Killed ones: test_outbox_recovery.py.
"""

import contextlib
import json
import sqlite3
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from email_hosts.outbox.models import OutboxMessage
from tests.conftest import ROOT, manage, process_environment


#: Starts real worker processes: .ci/matrix.py runs these in some cells.
pytestmark = pytest.mark.processes
KEYS = ["outbox-workers-key"]


def _shell(database, code, *, keys=KEYS):
    """Run ``code`` in a Django shell of its own on ``database``; return its output."""
    return manage("shell", "-c", code, database=database, fernet_keys=keys)


def _queue(database, dsn, *, count, outbox=None, keys=KEYS):
    """Store ``count`` messages for host 'shop' in another process, as a site would."""
    _shell(
        database,
        f"""
from django.core import mail
from django.test import override_settings
from email_hosts.models import EmailHost
from email_hosts.outbox import OutboxBackend
EmailHost.objects.update_or_create(key="shop", defaults={{"dsn": {dsn!r}}})
with override_settings(EMAIL_HOSTS_OUTBOX={outbox or {"TASK_BACKEND": "database"}!r}):
    for number in range({count}):
        OutboxBackend(host="shop").send_messages(
            [mail.EmailMessage(f"Message {{number}}", "Hello", "shop@example.com",
                               ["you@example.net"])]
        )
""",
        keys=keys,
    )


def _statuses(database):
    """Return the outbox's statuses, read here: a process less for each look."""
    if connection.vendor == "sqlite":
        with contextlib.closing(sqlite3.connect(database)) as shared:
            rows = shared.execute("SELECT status FROM email_hosts_outboxmessage")
            return sorted(status for (status,) in rows)
    return sorted(OutboxMessage.objects.values_list("status", flat=True))


def _worker(database, *, keys=KEYS, **settings_):
    environment = process_environment(database=database, fernet_keys=keys)
    environment["EMAIL_HOSTS_TEST_SETTINGS"] = json.dumps(settings_)
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "django", "db_worker",
         "--backend", "database", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _subjects(server):
    return sorted(
        envelope.original_content.split(b"Subject: ")[1].split(b"\r\n")[0].decode()
        for envelope in server.envelopes
    )


def test_two_workers_at_once_send_every_message_once(shared_database, smtp_server):
    _queue(shared_database, smtp_server.dsn(), count=60)
    # A burst enqueues one run now and one deferred; these overlap instead.
    _shell(
        shared_database,
        "from django.test import override_settings\n"
        "from email_hosts.outbox.tasks import wake\n"
        "with override_settings(EMAIL_HOSTS_OUTBOX={'TASK_BACKEND': 'database'}):\n"
        "    for _ in range(6):\n"
        "        wake()\n",
    )
    workers = [_worker(shared_database), _worker(shared_database)]
    for worker in workers:
        _out, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors
    assert _subjects(smtp_server) == sorted(f"Message {n}" for n in range(60))
    assert _statuses(shared_database) == ["sent"] * 60


def test_a_real_rq_worker_on_redis_delivers_the_outbox(shared_database, smtp_server):
    _queue(
        shared_database,
        smtp_server.dsn(),
        count=5,
        outbox={"TASK_BACKEND": "rq", "QUEUE_NAME": settings.RQ_QUEUE},
    )
    worker = subprocess.run(
        [sys.executable, "-W", "error", "-m", "django", "rqworker", "--burst",
         "--job-class", "django_tasks_rq.Job", settings.RQ_QUEUE],
        cwd=ROOT,
        env=process_environment(database=shared_database, fernet_keys=KEYS),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    assert _subjects(smtp_server) == sorted(f"Message {n}" for n in range(5))
    assert _statuses(shared_database) == ["sent"] * 5


def test_a_rate_limit_holds_across_two_workers(shared_database, smtp_server):
    _queue(shared_database, smtp_server.dsn(), count=12)
    limits = {"shop": {"MESSAGES_PER_DAY": 5}}
    workers = [
        _worker(shared_database, EMAIL_HOSTS_RATE_LIMITS=limits) for _ in range(2)
    ]
    logs = []
    for worker in workers:
        _out, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors
        logs.append(errors)
    # A failed run does not fail db_worker: its log says why.
    assert _statuses(shared_database) == ["queued"] * 7 + ["sent"] * 5, logs
    assert len(smtp_server.envelopes) == 5


def test_on_sqlite_a_worker_waits_for_another_writer_instead_of_failing(
    shared_database, smtp_server
):
    if connection.vendor != "sqlite":
        pytest.skip("Only SQLite locks the whole database for a write.")
    _queue(shared_database, smtp_server.dsn(), count=3)
    output = _shell(
        shared_database,
        f"""
import sqlite3, threading
from django.test import override_settings
from email_hosts.outbox.claims import claim_due
from email_hosts.outbox.rates import reserve
# Another worker holds the write lock for half a second.
other = sqlite3.connect({shared_database!r}, isolation_level=None,
                        check_same_thread=False)
for step in ("claim", "reserve"):
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.5, other.execute, ["COMMIT"]).start()
    if step == "claim":
        print("claimed", len(claim_due("waiting-worker", limit=3)))
    else:
        with override_settings(EMAIL_HOSTS_RATE_LIMITS={{"shop": {{"MESSAGES_PER_DAY": 5}}}}):
            print("reserved", reserve("shop", 1) is None)
""",
    )
    assert output.splitlines()[-2:] == ["claimed 3", "reserved True"]


COUNT_UNREADABLE = """
from email_hosts.outbox.models import OutboxMessage, unreadable
print(sum(unreadable(row) for row in OutboxMessage.objects.all()))
"""


def test_rotating_keys_while_a_worker_delivers_loses_nothing(
    shared_database, smtp_server
):
    _queue(shared_database, smtp_server.dsn(), count=80, keys=["old-key"])
    both = ["new-key", "old-key"]
    worker = _worker(shared_database, keys=both)
    rotation = manage(
        "rotate_email_host_keys", database=shared_database, fernet_keys=both
    )
    _out, errors = worker.communicate(timeout=120)
    assert worker.returncode == 0, errors
    assert "outbox messages: re-encrypted" in rotation
    assert _subjects(smtp_server) == sorted(f"Message {n}" for n in range(80))
    # The old key can go: every row, whoever wrote it last, reads without it.
    output = _shell(shared_database, COUNT_UNREADABLE, keys=["new-key"])
    assert output.splitlines()[-1] == "0"
    assert _statuses(shared_database) == ["sent"] * 80
