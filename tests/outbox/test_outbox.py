"""
The outbox accepts mail in the caller's transaction and delivers it through
real relays: retrying what fails, failing what a relay refuses for good,
and never sending a message twice.
"""

import datetime
import math
import sys

import django
import pytest
from django.apps import apps
from django.core import mail
from django.db import connection, transaction
from django.test import RequestFactory, override_settings
from django.utils import timezone
from django.views.debug import ExceptionReporter

from email_hosts.models import HostStatus
from email_hosts.outbox import OutboxBackend, tasks
from email_hosts.outbox.claims import claim_due, release_abandoned
from email_hosts.outbox.delivery import deliver, deliver_due
from email_hosts.outbox.message_parts import message_bytes
from email_hosts.outbox.models import OutboxMessage, Status
from tests.conftest import PASSWORD, REFUSED_RECIPIENT


pytestmark = pytest.mark.django_db(transaction=True)
RESET_TOKEN = "Mg-" + "a-secret-reset-token"
RESET_BODY = f"Reset: https://example.com/reset/{RESET_TOKEN}/"


def send(backend, *, count=1, to=("you@example.net",), **fields):
    messages = [
        mail.EmailMessage(
            fields.get("subject", f"Message {number}"),
            fields.get("body", "Hello"),
            fields.get("from_email", "shop@example.com"),
            list(to),
        )
        for number in range(count)
    ]
    return backend.send_messages(messages)


def make_due():
    OutboxMessage.objects.filter(status=Status.QUEUED).update(
        next_attempt_at=timezone.now()
    )


def only_message():
    [row] = OutboxMessage.objects.all()
    return row


def test_a_committed_message_is_delivered_through_its_host(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    assert send(OutboxBackend(host="shop")) == 1
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["you@example.net"]]
    row = only_message()
    assert (row.status, row.sent_through, row.attempts) == (Status.SENT, "shop", 1)


def test_a_rolled_back_transaction_sends_nothing(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        send(OutboxBackend(host="shop"))
        1 / 0  # noqa: B018 -- the caller's code fails after sending
    assert OutboxMessage.objects.count() == 0
    deliver_due()
    assert smtp_server.envelopes == []


def test_nothing_leaves_before_the_transaction_commits(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    with transaction.atomic():
        send(OutboxBackend(host="shop"))
        assert smtp_server.envelopes == []
    assert len(smtp_server.envelopes) == 1


def test_the_relay_receives_the_message_as_django_renders_it(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(), default_from="Shop <shop@example.com>")
    message = mail.EmailMessage("Grüße", "Hallo Welt", to=["you@example.net"])
    OutboxBackend(host="shop").send_messages([message])
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "shop@example.com"
    assert b"From: Shop <shop@example.com>" in envelope.original_content
    assert b"Subject: =?utf-8?" in envelope.original_content


def test_the_message_is_stored_encrypted(email_host, smtp_server):
    link = "https://example.com/reset/Mg/secret-reset-token/"
    email_host("shop", smtp_server.dsn())
    with transaction.atomic():
        send(OutboxBackend(host="shop"), body=f"Reset: {link}")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT message FROM {OutboxMessage._meta.db_table}")
            [(stored,)] = cursor.fetchall()
    assert b"secret-reset-token" not in bytes(stored)
    assert b"Reset" not in bytes(stored)
    assert b"secret-reset-token" in only_message().message


def test_messages_without_recipients_are_not_accepted(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    assert send(OutboxBackend(host="shop"), to=()) == 0
    assert OutboxMessage.objects.count() == 0


def test_a_relay_outage_queues_and_every_message_arrives_once(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    smtp_server.stop()
    assert send(OutboxBackend(host="shop"), count=50) == 50
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {
        Status.QUEUED
    }
    smtp_server.start()
    # A minute later: the messages are due, and the host's pause is over.
    make_due()
    HostStatus.objects.update(paused_until=timezone.now())
    assert deliver_due() == 50
    assert deliver_due() == 0
    subjects = sorted(
        e.original_content.split(b"Subject: ")[1].split(b"\r\n")[0]
        for e in smtp_server.envelopes
    )
    assert subjects == sorted(f"Message {n}".encode() for n in range(50))


def test_a_failed_attempt_waits_the_first_retry_delay(email_host, refused_port):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=5")
    before = timezone.now()
    send(OutboxBackend(host="shop"))
    row = only_message()
    assert (row.status, row.attempts) == (Status.QUEUED, 1)
    wait = row.next_attempt_at - before
    assert datetime.timedelta(seconds=59) < wait < datetime.timedelta(seconds=70)
    assert "refused the connection" in row.last_error


@override_settings(EMAIL_HOSTS_RETRY_DELAYS=[0, 0], EMAIL_HOSTS_FAILED_HOST_PAUSE=0)
def test_a_message_fails_after_its_last_retry(email_host, refused_port):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=5")
    send(OutboxBackend(host="shop"))
    row = only_message()
    assert (row.status, row.attempts) == (Status.FAILED, 3)
    assert row.last_error.startswith("'shop': 127.0.0.1:")


def test_fixing_the_host_in_the_admin_releases_the_queue(email_host, smtp_server):
    host = email_host("shop", smtp_server.dsn(password="wrong"))
    send(OutboxBackend(host="shop"))
    row = only_message()
    assert row.status == Status.QUEUED
    assert "rejected the login" in row.last_error
    host.dsn = smtp_server.dsn()
    host.save()  # Releases the queue at once, without waiting for the retry.
    assert only_message().status == Status.SENT
    assert len(smtp_server.envelopes) == 1


def test_a_refused_recipient_fails_alone(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    send(OutboxBackend(host="shop"), to=["you@example.net", REFUSED_RECIPIENT])
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["you@example.net"]]
    row = only_message()
    assert row.status == Status.SENT
    assert row.refused_recipients == {REFUSED_RECIPIENT: "550 5.1.1 No such user"}
    assert row.pending_recipients == []


def test_a_message_every_recipient_refuses_fails(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    send(OutboxBackend(host="shop"), to=[REFUSED_RECIPIENT])
    row = only_message()
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    assert smtp_server.envelopes == []


def test_a_backup_host_sends_when_the_first_cannot(
    email_host, smtp_server, refused_port
):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=5", backups="spare")
    email_host("spare", smtp_server.dsn())
    send(OutboxBackend(host="shop"))
    assert len(smtp_server.envelopes) == 1
    assert only_message().sent_through == "spare"


def test_the_message_the_relay_may_have_is_uncertain_and_never_resent(
    email_host, smtp_server_factory
):
    dying = smtp_server_factory(dies_after=1)
    spare = smtp_server_factory()
    email_host("shop", dying.dsn(), backups="spare")
    email_host("spare", spare.dsn())
    send(OutboxBackend(host="shop"), count=2)
    statuses = dict(OutboxMessage.objects.values_list("message_id", "status"))
    assert sorted(statuses.values()) == [Status.SENT, Status.UNCERTAIN]
    assert (len(dying.envelopes), len(spare.envelopes)) == (1, 1)
    make_due()
    deliver_due()
    assert (len(dying.envelopes), len(spare.envelopes)) == (1, 1)


def test_messages_route_by_sender_without_a_host(email_host, smtp_server_factory):
    shop, club = smtp_server_factory(), smtp_server_factory()
    email_host("shop", shop.dsn(), default_from="shop@example.com")
    email_host("club", club.dsn(), default_from="club@example.org")
    send(OutboxBackend(), from_email="shop@example.com")
    send(OutboxBackend(), from_email="club@example.org")
    assert [e.mail_from for e in shop.envelopes] == ["shop@example.com"]
    assert [e.mail_from for e in club.envelopes] == ["club@example.org"]


def test_a_local_host_hands_the_message_to_its_backend(email_host):
    email_host("shop", "locmem://")
    send(OutboxBackend(host="shop"), subject="Order 12")
    assert [m.subject for m in mail.outbox] == ["Order 12"]
    assert only_message().status == Status.SENT


def test_no_password_reaches_the_last_error(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(password=PASSWORD + "x"))
    send(OutboxBackend(host="shop"))
    assert PASSWORD not in only_message().last_error


def test_a_dead_workers_claims_are_taken_back(email_host, refused_port):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=5")
    send(OutboxBackend(host="shop"), count=2)
    make_due()
    claimed, sending = claim_due("dead-worker", limit=2)
    OutboxMessage.objects.filter(pk=sending.pk).update(status=Status.SENDING)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    OutboxMessage.objects.update(claimed_at=long_ago)
    assert release_abandoned() == (1, 1)
    claimed.refresh_from_db()
    sending.refresh_from_db()
    assert (claimed.status, sending.status) == (Status.QUEUED, Status.UNCERTAIN)


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS arrived in Django 6.1")
def test_a_mailers_entry_queues_through_its_host(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    mailers = {
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        "shop": {
            "BACKEND": "email_hosts.outbox.OutboxBackend",
            "OPTIONS": {"host": "shop"},
        },
    }
    with override_settings(MAILERS=mailers):
        message = mail.EmailMessage("Hi", "Hello", "a@example.com", ["b@example.net"])
        assert message.send(using="shop") == 1
    assert only_message().host_key == "shop"
    assert len(smtp_server.envelopes) == 1


@pytest.mark.parametrize("relay_pipelining", [False, True])
@override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})
def test_a_message_taken_back_from_a_slow_worker_is_not_sent_by_it(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    send(OutboxBackend(host="shop"))  # Queued for a worker yet to come.
    [row] = claim_due("slow-worker", limit=1)
    # After CLAIM_SECONDS, another run took it back: it is that run's now.
    OutboxMessage.objects.update(claimed_by="another-worker")
    deliver([row])
    assert smtp_server.envelopes == []
    assert OutboxMessage.objects.get().claimed_by == "another-worker"


@pytest.mark.parametrize("relay_pipelining", [False, True])
@override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})
def test_a_message_taken_back_mid_batch_is_skipped_and_the_rest_go(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    send(OutboxBackend(host="shop"), count=3)
    batch = claim_due("slow-worker", limit=3)
    taken = batch[1]
    OutboxMessage.objects.filter(pk=taken.pk).update(claimed_by="another-worker")
    deliver(batch)
    received = [envelope.original_content for envelope in smtp_server.envelopes]
    assert len(received) == 2
    assert not any(taken.message_id.encode() in content for content in received)
    rows = {row.pk: row for row in OutboxMessage.objects.all()}
    assert rows.pop(taken.pk).claimed_by == "another-worker"
    assert [row.status for row in rows.values()] == [Status.SENT, Status.SENT]


@pytest.fixture
def fresh_window():
    tasks._Window.ends, tasks._Window.deferred = -math.inf, False
    yield
    tasks._Window.ends, tasks._Window.deferred = -math.inf, False


def queued_runs():
    results = apps.get_model("django_tasks_database", "DBTaskResult")
    return sorted(results.objects.values_list("run_after", flat=True), key=str)


@override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})
def test_a_burst_of_mail_enqueues_one_run_now_and_one_after_it(
    email_host, fresh_window
):
    email_host("shop", "locmem://")
    for _ in range(5):
        send(OutboxBackend(host="shop"))
    runs = queued_runs()
    assert len(runs) == 2
    # django-tasks-db stores "as soon as possible" as the year 9999.
    [deferred] = [run_after for run_after in runs if run_after.year < 9999]
    assert timezone.now() < deferred <= timezone.now() + datetime.timedelta(seconds=1)


@override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})
def test_the_run_rolls_back_with_the_mail_in_the_same_database(
    email_host, fresh_window
):
    email_host("shop", "locmem://")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        send(OutboxBackend(host="shop"))
        assert len(queued_runs()) == 1  # In the caller's transaction.
        1 / 0  # noqa: B018
    assert queued_runs() == []


@override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})
def test_a_thousand_messages_in_one_call_are_all_stored_as_sent(email_host):
    email_host("shop", "locmem://")
    assert send(OutboxBackend(host="shop"), count=1000) == 1000
    rows = OutboxMessage.objects.all()
    assert rows.count() == 1000
    row = rows.order_by("pk").first()
    assert row.created_at <= timezone.now()
    assert b"Subject: Message " in message_bytes(row)
    assert (row.recipients, row.status) == (["you@example.net"], Status.QUEUED)


@override_settings(DEBUG=False, ADMINS=["ops@example.com"])
def test_an_error_report_of_a_failed_send_shows_no_message(email_host):
    email_host("shop", "locmem://")
    # The report shows this frame's locals and source too: neither holds it.
    reset = mail.EmailMessage("Reset", RESET_BODY, to=["you@example.net"])
    broken = mail.EmailMessage("Hi", "Hi", to=["bad\nto@x.net"])
    try:
        OutboxBackend(host="shop").send_messages([reset, broken])
    except ValueError:
        exc_info = sys.exc_info()
    else:
        pytest.fail("An address with a newline was accepted.")
    reporter = ExceptionReporter(RequestFactory().get("/"), *exc_info)
    report = reporter.get_traceback_html() + reporter.get_traceback_text()
    assert "send_messages" in report
    assert RESET_TOKEN not in report


@override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})
def test_a_rolled_back_send_leaves_the_later_run_to_the_next_send(
    email_host, fresh_window
):
    email_host("shop", "locmem://")
    send(OutboxBackend(host="shop"))  # The run now.
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        send(OutboxBackend(host="shop"))
        1 / 0  # noqa: B018
    send(OutboxBackend(host="shop"))  # Its later run must still come.
    assert len(queued_runs()) == 2
