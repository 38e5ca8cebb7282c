"""
A delivery run is known alive by its heartbeat, never by the age of its
claims; the chain of runs outlives any one of them; and a host that works
again, or an operator, ends a pause at once.
"""

import datetime
import io
import time

import pytest
from django.apps import apps
from django.core import checks
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from email_hosts.checks.outbox import check_outbox_worker
from email_hosts.hosts import status
from email_hosts.models import HostStatus
from email_hosts.outbox import OutboxBackend, tasks
from email_hosts.outbox.claims import claim_due, release_abandoned
from email_hosts.outbox.delivery import deliver_due
from email_hosts.outbox.liveness import Heartbeat, beat
from email_hosts.outbox.models import OutboxMessage, Status, WorkerBeat
from email_hosts.outbox.operations import retry_now
from tests.outbox.test_outbox import send
from tests.outbox.test_outbox_recovery import _end_connections_of_others


pytestmark = pytest.mark.django_db(transaction=True)
FAST = {"TASK_BACKEND": "database", "WORKER_TIMEOUT_SECONDS": 0.4}


@pytest.fixture(autouse=True)
def _no_runs_scheduled_before():
    tasks._Scheduled.times = []
    yield
    tasks._Scheduled.times = []


def _queued(email_host, count=2):
    """Store ``count`` due messages for host 'shop', enqueueing no run."""
    email_host("shop", "locmem://")
    now = timezone.now()
    for number in range(count):
        OutboxMessage.objects.create(
            host_key="shop",
            from_email="shop@example.com",
            recipients=["you@example.net"],
            pending_recipients=["you@example.net"],
            message=f"Subject: {number}\r\n\r\nHi\r\n".encode(),
            next_attempt_at=now,
        )


@override_settings(EMAIL_HOSTS_OUTBOX=FAST)
def test_a_slow_run_that_beats_keeps_its_claims_however_old(email_host):
    _queued(email_host)
    with Heartbeat("slow-run"):
        claim_due("slow-run", limit=2)
        OutboxMessage.objects.update(
            claimed_at=timezone.now() - datetime.timedelta(hours=1)
        )
        time.sleep(1)  # Over twice the timeout: its thread kept beating.
        assert release_abandoned() == (0, 0)
    time.sleep(0.5)  # It ended without sending: now it is dead.
    assert release_abandoned() == (2, 0)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"queued"}


@override_settings(EMAIL_HOSTS_OUTBOX=FAST)
def test_a_dead_runs_claim_is_requeued_and_its_send_made_uncertain(email_host):
    _queued(email_host)
    claimed, sending = claim_due("dead-run", limit=2)
    OutboxMessage.objects.filter(pk=sending.pk).update(status=Status.SENDING)
    beat("dead-run")
    assert release_abandoned() == (0, 0)  # It beat a moment ago.
    time.sleep(0.5)
    assert release_abandoned() == (1, 1)
    claimed.refresh_from_db()
    sending.refresh_from_db()
    assert (claimed.status, sending.status) == (Status.QUEUED, Status.UNCERTAIN)
    assert claimed.next_attempt_at <= timezone.now()


def _runs():
    results = apps.get_model("django_tasks_database", "DBTaskResult")
    return sorted(results.objects.values_list("run_after", flat=True))


@override_settings(EMAIL_HOSTS_OUTBOX=FAST)
def test_a_run_leaves_a_lifeline_that_leads_to_the_next_retry(email_host):
    _queued(email_host, count=1)
    later = timezone.now() + datetime.timedelta(hours=2)
    OutboxMessage.objects.create(
        host_key="shop",
        from_email="shop@example.com",
        recipients=["you@example.net"],
        pending_recipients=["you@example.net"],
        message=b"Subject: later\r\n\r\nHi\r\n",
        next_attempt_at=later,
    )
    started = timezone.now()
    assert tasks.deliver_outbox.call() == 1
    # Enqueued before the run claimed anything: had it died, the lifeline
    # would have taken back what it held.
    [lifeline] = _runs()
    assert started < lifeline <= timezone.now() + datetime.timedelta(seconds=0.4)
    time.sleep(0.5)
    assert tasks.deliver_outbox.call() == 0  # The lifeline's run.
    assert _runs() == [lifeline, later]
    assert not WorkerBeat.objects.exclude(name="outbox").exists()


@override_settings(EMAIL_HOSTS_OUTBOX=FAST)
def test_a_run_with_nothing_left_schedules_nothing(email_host):
    email_host("shop", "locmem://")
    assert tasks.deliver_outbox.call() == 0
    assert _runs() == []


def test_w012_sees_messages_a_dead_run_holds(email_host):
    _queued(email_host, count=1)
    claim_due("dead-run", limit=1)
    beat("outbox")  # Runs ran a moment ago, yet none took them back.
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    OutboxMessage.objects.update(claimed_at=long_ago)
    [warning] = check_outbox_worker(None, databases=["default"])
    assert (warning.level, warning.id) == (checks.WARNING, "email_hosts.W012")
    assert "held by a worker that stopped" in warning.msg
    deliver_due()  # A run takes them back.
    assert check_outbox_worker(None, databases=["default"]) == []


def _paused_with_waiting_mail(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    status.record("shop", ok=False, message="down", paused_until=_in(minutes=1))
    send(OutboxBackend(host="shop"))
    deliver_due()  # Postponed until the pause ends.
    row = OutboxMessage.objects.get()
    assert (row.status, row.next_attempt_at > timezone.now()) == (Status.QUEUED, True)
    assert smtp_server.envelopes == []
    return row


def _in(**delta):
    return timezone.now() + datetime.timedelta(**delta)


pause_tests = override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})


@pause_tests
def test_a_passing_check_ends_the_pause_and_sends_what_waited(email_host, smtp_server):
    row = _paused_with_waiting_mail(email_host, smtp_server)
    runs_before = len(_runs())
    call_command("sendtestemailhosts", "--check", "shop", stdout=io.StringIO())
    assert HostStatus.objects.get(key="shop").paused_until is None
    row.refresh_from_db()
    assert row.next_attempt_at <= timezone.now()
    assert len(_runs()) == runs_before + 1  # A run to send it.
    deliver_due()
    assert len(smtp_server.envelopes) == 1


def test_a_passing_check_of_a_settings_host_ends_its_pause(smtp_server):
    with override_settings(EMAIL_HOSTS={"shop": smtp_server.dsn()}):
        status.record("shop", ok=False, message="down", paused_until=_in(minutes=1))
        call_command("sendtestemailhosts", "--check", "shop", stdout=io.StringIO())
    assert HostStatus.objects.get(key="shop").paused_until is None


@pause_tests
def test_retry_now_ends_the_pause_and_sends_at_once(email_host, smtp_server):
    _paused_with_waiting_mail(email_host, smtp_server)
    assert retry_now(OutboxMessage.objects.all()) == 1
    assert HostStatus.objects.get(key="shop").paused_until is None
    deliver_due()
    assert OutboxMessage.objects.get().status == Status.SENT


@pause_tests
def test_deliveroutbox_ends_pauses_and_sends_at_once(email_host, smtp_server):
    _paused_with_waiting_mail(email_host, smtp_server)
    out = io.StringIO()
    call_command("deliveroutbox", stdout=out)
    assert OutboxMessage.objects.get().status == Status.SENT
    assert "Sent 1 " in out.getvalue()


@override_settings(EMAIL_HOSTS_OUTBOX={**FAST, "CLAIM_SECONDS": 0.6})
def test_a_run_stuck_on_one_message_stops_beating_and_is_taken_over(email_host):
    # As when a relay drips a line of its answer every few seconds, for ever.
    _queued(email_host)
    with Heartbeat("stuck-run") as heartbeat:
        claim_due("stuck-run", limit=2)
        heartbeat.progress()  # It took its first message, and got no further.
        time.sleep(0.3)
        assert release_abandoned() == (0, 0)
        time.sleep(1.2)
        assert release_abandoned() == (2, 0)


@override_settings(EMAIL_HOSTS_OUTBOX=FAST)
def test_the_heartbeat_connects_again_after_the_database_ended_its_connection(
    email_host,
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no server that ends a connection.")
    _queued(email_host, count=1)
    with Heartbeat("lives-on"):
        claim_due("lives-on", limit=1)
        time.sleep(0.2)  # The heartbeat's thread has its connection.
        _end_connections_of_others(connection.settings_dict["NAME"])
        time.sleep(1)
        assert release_abandoned() == (0, 0)


@pause_tests
def test_a_passing_check_after_the_pause_sends_what_waits_for_a_retry(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    status.record("shop", ok=False, message="down")  # The pause is over.
    send(OutboxBackend(host="shop"))
    OutboxMessage.objects.update(next_attempt_at=_in(minutes=30))  # A retry.
    call_command("sendtestemailhosts", "--check", "shop", stdout=io.StringIO())
    assert OutboxMessage.objects.get().next_attempt_at <= timezone.now()
    out = io.StringIO()
    call_command("deliveroutbox", stdout=out)
    assert "Sent 1 " in out.getvalue()
