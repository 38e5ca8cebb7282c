"""
Every process shares what it learns about a relay: a failing host is
skipped for its backups, a host's rate limits hold for all, and a relay
that asks to slow down is left alone for a while, burning no retries.
"""

import datetime

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from email_hosts.hosts import status
from email_hosts.models import HostStatus
from email_hosts.outbox import OutboxBackend
from email_hosts.outbox.models import OutboxMessage, RateWindow, Status
from email_hosts.routing import RoutingBackend
from tests.conftest import RecordingHandler


pytestmark = pytest.mark.django_db(transaction=True)


def send(backend, count=1):
    return backend.send_messages(
        [
            mail.EmailMessage(
                f"Message {n}", "Hi", "shop@example.com", ["a@example.net"]
            )
            for n in range(count)
        ]
    )


def pause(key, seconds=60):
    HostStatus.objects.update_or_create(
        key=key,
        defaults={
            "ok": False,
            "message": "refused",
            "checked_at": timezone.now(),
            "paused_until": timezone.now() + datetime.timedelta(seconds=seconds),
        },
    )


def test_a_host_that_failed_pauses_for_every_process(email_host, refused_port):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=5")
    send(OutboxBackend(host="shop"))
    [until] = status.paused(["shop"]).values()
    assert timezone.now() + datetime.timedelta(seconds=55) < until


def test_routing_skips_a_paused_host_for_its_backup(email_host, smtp_server_factory):
    shop, spare = smtp_server_factory(), smtp_server_factory()
    email_host("shop", shop.dsn(), default_from="shop@example.com", backups="spare")
    email_host("spare", spare.dsn())
    pause("shop")
    send(RoutingBackend())
    assert (len(shop.envelopes), len(spare.envelopes)) == (0, 1)


def test_routing_tries_a_paused_host_that_has_no_backup(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(), default_from="shop@example.com")
    pause("shop")
    send(RoutingBackend())
    assert len(smtp_server.envelopes) == 1


def test_the_outbox_waits_out_a_pause_without_burning_a_retry(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    pause("shop")
    send(OutboxBackend(host="shop"))
    [row] = OutboxMessage.objects.all()
    assert (row.status, row.attempts) == (Status.QUEUED, 0)
    assert row.next_attempt_at == HostStatus.objects.get().paused_until
    assert smtp_server.envelopes == []


def test_saving_a_host_ends_its_pause_and_sends_what_waits(email_host, smtp_server):
    host = email_host("shop", smtp_server.dsn())
    pause("shop")
    send(OutboxBackend(host="shop"))
    host.save()
    assert status.paused(["shop"]) == {}
    assert len(smtp_server.envelopes) == 1


@override_settings(EMAIL_HOSTS_RATE_LIMITS={"shop": {"MESSAGES_PER_MINUTE": 3}})
def test_a_rate_limit_puts_off_the_rest_to_the_next_window(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    send(OutboxBackend(host="shop"), count=5)
    assert len(smtp_server.envelopes) == 3
    waiting = OutboxMessage.objects.filter(status=Status.QUEUED)
    assert [row.attempts for row in waiting] == [0, 0]
    [window] = RateWindow.objects.filter(window="MINUTE")
    assert {row.next_attempt_at for row in waiting} == {
        window.starts_at + datetime.timedelta(minutes=1)
    }
    assert "limit of 3 messages a minute" in waiting[0].last_error


@override_settings(EMAIL_HOSTS_RATE_LIMITS={"shop": {"RECIPIENTS_PER_DAY": 2}})
def test_a_message_above_a_recipient_limit_goes_alone_in_its_window(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    message = mail.EmailMessage(
        "Hi", "Hi", "shop@example.com", ["a@x.net", "b@x.net", "c@x.net"]
    )
    OutboxBackend(host="shop").send_messages([message, message])
    assert [len(e.rcpt_tos) for e in smtp_server.envelopes] == [3]


class ThrottlingHandler(RecordingHandler):
    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        return "454 4.7.0 Throttling failure: Mailbox is over its limit"


def test_a_relay_that_asks_to_slow_down_is_left_alone(email_host, smtp_server_factory):
    relay = smtp_server_factory(handler_class=ThrottlingHandler)
    email_host("shop", relay.dsn())
    send(OutboxBackend(host="shop"), count=3)
    rows = OutboxMessage.objects.all()
    assert {(row.status, row.attempts) for row in rows} == {(Status.QUEUED, 0)}
    assert "asked to slow down: 454 4.7.0 Throttling failure" in rows[0].last_error
    assert "shop" in status.paused(["shop"])
