"""Operating the outbox: its admin, its commands and its checks."""

import datetime
import io
import os

import pytest
from django.contrib.auth.models import Permission, User
from django.core import checks
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from email_hosts.checks.outbox import (
    check_failed_host_pause_setting,
    check_outbox_setting,
    check_outbox_worker,
    check_rate_limits_setting,
    check_retry_delays_setting,
)
from email_hosts.outbox import OutboxBackend
from email_hosts.outbox.liveness import LAST_RUN, beat
from email_hosts.outbox.models import OutboxMessage, Status, WorkerBeat
from tests.conftest import RecordingHandler


pytestmark = pytest.mark.django_db
SECRET_LINK = b"https://example.com/reset/secret-token/"


def stored(status=Status.QUEUED, **fields):
    fields.setdefault("next_attempt_at", timezone.now() + datetime.timedelta(hours=1))
    fields.setdefault("recipients", ["you@example.net"])
    fields.setdefault("pending_recipients", fields["recipients"])
    return OutboxMessage.objects.create(
        host_key="shop",
        from_email="shop@example.com",
        message=b"Subject: Reset\r\n\r\n" + SECRET_LINK + b"\r\n",
        message_id="<1@example.com>",
        status=status,
        **fields,
    )


def act(client, action, *rows, **confirmation):
    """Apply an admin action to ``rows``; with ``confirmation``, confirm it."""
    return client.post(
        reverse("admin:email_hosts_outboxmessage_changelist"),
        {"action": action, "_selected_action": [row.pk for row in rows]}
        | ({"post": "yes"} | confirmation if confirmation else {}),
        follow=True,
    )


def test_the_changelist_shows_status_and_recipients(admin_client):
    stored(last_error="'shop': the server answered 451")
    page = admin_client.get(reverse("admin:email_hosts_outboxmessage_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "you@example.net" in text
    assert "the server answered 451" in text


def test_the_body_needs_its_own_permission(client):
    row = stored()
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    client.force_login(user)
    url = reverse("admin:email_hosts_outboxmessage_change", args=[row.pk])
    assert SECRET_LINK not in client.get(url).content
    user.user_permissions.add(Permission.objects.get(codename="view_message_body"))
    user = User.objects.get(pk=user.pk)  # Permissions are cached per object.
    client.force_login(user)
    assert SECRET_LINK in client.get(url).content


def test_retry_now_makes_a_queued_message_due(
    admin_client, email_host, django_capture_on_commit_callbacks
):
    email_host("shop", "locmem://")
    row = stored()
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "retry_now", row)
    row.refresh_from_db()
    assert row.status == Status.SENT  # The immediate task backend ran it.


def test_resend_queues_an_uncertain_message_again(admin_client):
    row = stored(Status.UNCERTAIN, attempts=1, last_error="connection broke")
    response = act(admin_client, "resend", row, resend_to="not_accepted")
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.QUEUED, 0, "")
    assert "1 message was queued to be sent again." in response.content.decode()


def test_resend_leaves_a_queued_or_sent_message_alone(admin_client):
    queued, sent = stored(), stored(Status.SENT)
    response = act(admin_client, "resend", queued, sent, resend_to="not_accepted")
    assert "0 messages were queued" in response.content.decode()
    assert sorted(OutboxMessage.objects.values_list("status", flat=True)) == [
        Status.QUEUED,
        Status.SENT,
    ]


def _partly_delivered():
    """A failed message the relay accepted for one recipient and refused another."""
    return stored(
        Status.FAILED,
        attempts=1,
        recipients=["ok@example.net", "gone@example.net", "later@example.net"],
        pending_recipients=["later@example.net"],
        refused_recipients={"gone@example.net": "550 5.1.1 No such user"},
    )


def test_resend_asks_first_and_says_to_whom(admin_client):
    row = _partly_delivered()
    page = act(admin_client, "resend", row)
    text = page.content.decode()
    assert "gone@example.net, later@example.net" in text  # Sends to.
    assert "ok@example.net" in text  # Accepted already, not sent again.
    assert "Resend to every recipient, again to those who got it" in text
    row.refresh_from_db()
    assert row.status == Status.FAILED  # Nothing happened yet.


def test_resending_a_held_message_says_where_it_came_from(admin_client):
    row = stored(Status.HELD)
    text = act(admin_client, "resend", row).content.decode()
    assert "copied here from another database" in text


def test_resend_goes_to_the_recipients_not_accepted(admin_client):
    row = _partly_delivered()
    act(admin_client, "resend", row, resend_to="not_accepted")
    row.refresh_from_db()
    assert row.status == Status.QUEUED
    assert row.pending_recipients == ["gone@example.net", "later@example.net"]
    assert row.refused_recipients == {}


def test_resend_to_all_is_an_explicit_choice(admin_client):
    row = _partly_delivered()
    act(admin_client, "resend", row, resend_to="all")
    row.refresh_from_db()
    assert row.pending_recipients == row.recipients


def test_an_uncertain_message_is_said_to_maybe_arrive_twice(admin_client):
    row = stored(Status.UNCERTAIN, attempts=1)
    text = act(admin_client, "resend", row).content.decode()
    assert "they may get it twice" in text
    assert "Resend to every recipient" not in text  # Nobody accepted it for sure.


def test_cancel_stops_a_queued_message(admin_client):
    row = stored()
    act(admin_client, "cancel", row)
    row.refresh_from_db()
    assert row.status == Status.CANCELLED


def test_nobody_adds_outbox_messages_in_the_admin(admin_client):
    url = reverse("admin:email_hosts_outboxmessage_add")
    assert admin_client.get(url).status_code == 403


@override_settings(EMAIL_HOSTS_OUTBOX={"RETENTION_DAYS": 7})
def test_purge_deletes_old_sent_messages_and_keeps_the_rest():
    old = timezone.now() - datetime.timedelta(days=8)
    stored(Status.SENT, finished_at=old)
    stored(Status.CANCELLED, finished_at=old)
    kept = [
        stored(Status.SENT, finished_at=timezone.now()),
        stored(Status.FAILED, finished_at=old),
        stored(Status.UNCERTAIN, finished_at=old),
        stored(),
    ]
    call_command("purgeoutbox", stdout=(output := io.StringIO()))
    assert output.getvalue() == "Deleted 2 outbox messages.\n"
    assert set(OutboxMessage.objects.all()) == set(kept)


@override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})
def test_purge_counts_a_message_stored_in_parts_once(email_host):
    email_host("shop", "locmem://")
    big = EmailMessage("Big", "Hi", "shop@example.com", ["you@example.net"])
    big.attach("big.bin", os.urandom(2 * 1024 * 1024), "application/octet-stream")
    OutboxBackend(host="shop").send_messages([big])
    long_ago = timezone.now() - datetime.timedelta(days=60)
    OutboxMessage.objects.update(status=Status.SENT, finished_at=long_ago)
    call_command("purgeoutbox", stdout=(output := io.StringIO()))
    assert output.getvalue() == "Deleted 1 outbox messages.\n"


def test_deliveroutbox_sends_what_is_due(email_host):
    email_host("shop", "locmem://")
    stored(next_attempt_at=timezone.now())
    call_command("deliveroutbox", stdout=(output := io.StringIO()))
    assert output.getvalue() == "Sent 1 outbox messages.\n"


@override_settings(EMAIL_HOSTS_RETRY_DELAYS="60")
def test_retry_delays_that_are_no_list_are_an_error():
    [error] = check_retry_delays_setting(None)
    assert error.id == "email_hosts.E016"
    assert "not '60'" in error.msg


@override_settings(EMAIL_HOSTS_OUTBOX={"BATCH": 10})
def test_an_unknown_outbox_option_is_an_error():
    [error] = check_outbox_setting(None)
    assert error.id == "email_hosts.E017"
    assert "BATCH_SIZE" in error.msg


def test_waiting_mail_without_a_worker_is_a_warning(email_host):
    email_host("shop", "locmem://")
    stored(next_attempt_at=timezone.now() - datetime.timedelta(hours=1))
    [warning] = check_outbox_worker(None, databases=["default"])
    assert isinstance(warning, checks.Warning)
    assert warning.id == "email_hosts.W012"
    beat(LAST_RUN)
    assert check_outbox_worker(None, databases=["default"]) == []
    WorkerBeat.objects.update(ran_at=timezone.now() - datetime.timedelta(hours=1))
    assert [w.id for w in check_outbox_worker(None, databases=["default"])] == [
        "email_hosts.W012"
    ]


@override_settings(EMAIL_HOSTS_RATE_LIMITS={"shop": {"MESSAGES_PER_SECOND": 1}})
def test_an_unknown_rate_limit_is_an_error():
    [error] = check_rate_limits_setting(None)
    assert error.id == "email_hosts.E018"
    assert "EMAIL_HOSTS_RATE_LIMITS['shop']" in error.msg


@override_settings(EMAIL_HOSTS_FAILED_HOST_PAUSE=-1)
def test_a_negative_pause_is_an_error():
    [error] = check_failed_host_pause_setting(None)
    assert error.id == "email_hosts.E019"
    assert "not -1" in error.msg


def test_the_host_list_counts_the_outbox_of_the_last_day(admin_client, email_host):
    email_host("shop", "locmem://")
    for status_, attempts in [(Status.SENT, 1), (Status.SENT, 1), (Status.FAILED, 7)]:
        stored(status_, attempts=attempts, routed_to="shop")
    stored(Status.QUEUED, attempts=2, routed_to="shop")
    stored(Status.QUEUED, attempts=0, routed_to="shop")  # Not retrying yet.
    old = stored(Status.UNCERTAIN, routed_to="shop")
    OutboxMessage.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    page = admin_client.get(reverse("admin:email_hosts_emailhost_changelist"))
    assert "2 sent, 1 retrying, 1 failed" in page.content.decode()


class GreylistsOnce(RecordingHandler):
    """A relay that defers later@ the first time, as greylisting does."""

    def __init__(self, **behaviour):
        super().__init__(**behaviour)
        self.deferred = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == "later@example.net" and not self.deferred:
            self.deferred = True
            return "450 4.2.0 Greylisted, try again later"
        return await super().handle_RCPT(
            server, session, envelope, address, rcpt_options
        )


def test_a_partly_delivered_message_resent_reaches_nobody_twice(
    admin_client, email_host, smtp_server_factory, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    relay = smtp_server_factory(handler_class=GreylistsOnce)
    email_host("shop", relay.dsn())
    settings.EMAIL_HOSTS_RETRY_DELAYS = []  # Deferred once: failed.
    message = EmailMessage(
        "Hi", "Body", "shop@example.com", ["ok@example.net", "later@example.net"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        OutboxBackend(host="shop").send_messages([message])
    row = OutboxMessage.objects.get()
    assert (row.status, row.pending_recipients) == (
        Status.FAILED,
        ["later@example.net"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "resend", row, resend_to="not_accepted")
    delivered = [envelope.rcpt_tos for envelope in relay.envelopes]
    assert delivered == [["ok@example.net"], ["later@example.net"]]
    row.refresh_from_db()
    assert row.status == Status.SENT
