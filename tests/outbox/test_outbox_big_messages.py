"""
Big messages: the outbox queues a message of 35 MB on every database with
its default settings, in parts that no statement or Fernet token exceeds,
and sends it whole. It refuses one over its limit before storing anything,
and a message over a relay's limit fails at once, never its host.
"""

import email
import email.policy
import io
import json
import os
import tracemalloc

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from email_hosts.hosts import status
from email_hosts.models import EmailHost, HostStatus
from email_hosts.outbox import OutboxBackend, backend
from email_hosts.outbox.backend import MessageTooLarge
from email_hosts.outbox.delivery import deliver_due
from email_hosts.outbox.message_parts import PART_BYTES, message_bytes
from email_hosts.outbox.models import (
    UNREADABLE,
    OutboxMessage,
    OutboxMessagePart,
    Status,
)
from email_hosts.outbox.rendering import render
from tests.size_limited_relay import MAILBOX_FULL, SizeLimitedHandler


# Under the db fixture nothing commits: a message waits for deliver_due().
pytestmark = pytest.mark.django_db
MB = 1_000_000


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def relay_pipelining(request):
    return request.param


def with_attachment(size, subject="Big"):
    """Return a message with ``size`` random bytes attached."""
    message = mail.EmailMessage(
        subject, "See the attachment.", "shop@example.com", ["you@example.net"]
    )
    message.attach("data.bin", os.urandom(size), "application/octet-stream")
    return message


def attachment_of(data):
    """Return the bytes attached to a message as sent."""
    parsed = email.message_from_bytes(data, policy=email.policy.SMTP)
    [attachment] = parsed.iter_attachments()
    return attachment.get_content()


def _is_binary(value):
    return isinstance(value, bytes | bytearray | memoryview)


def only_message():
    [row] = OutboxMessage.objects.all()
    return row


def queue(*messages):
    return OutboxBackend(host="shop").send_messages(list(messages))


@pytest.fixture
def relay(email_host, smtp_server_factory):
    """Start a relay as the host "shop": ``relay(size_limit=..., ...)``."""

    def start(**limits):
        server = smtp_server_factory(handler_class=SizeLimitedHandler, **limits)
        email_host("shop", server.dsn())
        return server

    return start


def host_is_fine():
    return (
        not status.paused(["shop"])
        and not HostStatus.objects.filter(key="shop", ok=False).exists()
    )


# Storing.


def test_a_35_mb_message_is_stored_in_parts_and_read_back_whole(
    email_host, refused_port, monkeypatch
):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}")
    rendered = render(with_attachment(26 * MB))  # 35.5 MB as sent.
    # Rendering is Django's, as for its SMTP backend; what storing adds:
    monkeypatch.setattr(backend, "render", lambda message: rendered)
    tracemalloc.start()
    try:
        # With an attachment, so rendered when queued (as the big one is).
        queue(with_attachment(1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    row = only_message()
    assert row.parts == 34
    # A few parts at a time (about 8 MB), never the 35 MB message again.
    assert peak < 12 * PART_BYTES
    assert message_bytes(row) == rendered.message
    with connection.cursor() as cursor:  # The caller's connection still works.
        cursor.execute("SELECT 1")


def test_a_message_up_to_a_part_stays_in_its_row(email_host):
    email_host("shop", "locmem://")
    queue(with_attachment(PART_BYTES // 2))
    assert only_message().parts == 0
    assert not OutboxMessagePart.objects.exists()


def test_no_statement_carries_more_than_about_a_part(email_host):
    email_host("shop", "locmem://")
    messages = [with_attachment(300_000, f"Medium {n}") for n in range(6)]
    messages.insert(3, with_attachment(2 * MB, "Big"))
    sizes = []

    def measure(execute, sql, params, many, context):
        # psycopg wraps binary values in a Binary, whose obj is the value.
        values = [getattr(value, "obj", value) for value in params or ()]
        sizes.append(sum(len(value) for value in values if _is_binary(value)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(measure):
        queue(*messages)
    assert 0 < max(sizes) < 1.5 * PART_BYTES
    rows = OutboxMessage.objects.order_by("pk")
    assert [attachment_of(message_bytes(row)) for row in rows] == [
        message.attachments[0].content for message in messages
    ]


def test_the_parts_are_stored_encrypted(email_host):
    email_host("shop", "locmem://")
    message = with_attachment(2 * MB)
    queue(message)
    with connection.cursor() as cursor:
        cursor.execute("SELECT chunk FROM email_hosts_outboxmessagepart")
        stored = b"".join(bytes(chunk) for (chunk,) in cursor.fetchall())
    assert b"See the attachment." not in stored
    assert b"Content-Disposition" not in stored


def test_a_message_over_the_limit_is_refused_before_anything_is_stored(email_host):
    with override_settings(EMAIL_HOSTS_OUTBOX={"MAX_MESSAGE_BYTES": 100_000}):
        big = with_attachment(200_000)
        size = len(render(big).message)
        with transaction.atomic():
            email_host("shop", "locmem://")  # The caller's own write.
            with pytest.raises(MessageTooLarge) as refused:
                queue(with_attachment(1000, "Small"), big)
            # The caller's transaction and connection go on.
            assert OutboxMessage.objects.count() == 0
            assert EmailHost.objects.filter(key="shop").exists()
    assert abs(refused.value.size - size) < 100  # Its own Message-ID and date.
    assert str(refused.value).startswith(
        f"The message is {refused.value.size:,} bytes as sent, over the outbox's"
        f" limit of 100,000 (EMAIL_HOSTS_OUTBOX['MAX_MESSAGE_BYTES'])"
    )


# Sending.


def test_a_message_in_parts_reaches_the_relay_whole(relay):
    server = relay(size_limit=10 * MB)
    message = with_attachment(2 * MB)
    queue(message)
    deliver_due()
    assert only_message().status == Status.SENT
    [envelope] = server.envelopes
    assert envelope.mail_options == [f"SIZE={len(envelope.original_content)}"]
    assert attachment_of(envelope.original_content) == message.attachments[0].content


def test_a_message_in_parts_reaches_a_local_host_whole(email_host):
    email_host("shop", "locmem://")
    message = with_attachment(2 * MB)
    queue(message)
    deliver_due()
    [received] = mail.outbox
    assert (
        attachment_of(received.message().as_bytes()) == message.attachments[0].content
    )


def test_a_message_over_the_relays_size_fails_at_once_and_the_next_goes(relay):
    server = relay(size_limit=100_000)
    queue(with_attachment(200_000), with_attachment(1000, "Small"))
    deliver_due()
    big, small = OutboxMessage.objects.order_by("pk")
    assert (big.status, big.attempts) == (Status.FAILED, 1)
    assert big.last_error.startswith(
        f"The message is {len(message_bytes(big)):,} bytes and the relay takes at"
        f" most 100,000 (its SIZE limit), so it was not sent."
    )
    assert small.status == Status.SENT
    assert len(server.envelopes) == 1
    assert host_is_fine()


def test_a_relay_that_refuses_the_size_after_data_fails_it_without_a_retry(relay):
    server = relay(size_limit=100_000, announced=None)
    queue(with_attachment(200_000))
    deliver_due()
    row = only_message()
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    assert row.last_error == (
        f"The relay refused the message, {len(message_bytes(row)):,} bytes, as"
        f" too big: 552 Error: Too much mail data"
    )
    assert server.envelopes == []
    assert host_is_fine()


def test_recipients_refused_with_552_fail_the_message_without_a_retry(relay):
    relay(full_mailboxes=True)
    queue(with_attachment(1000))
    deliver_due()
    row = only_message()
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    assert row.refused_recipients == {"you@example.net": MAILBOX_FULL}
    assert host_is_fine()


# Keys, fixtures, the admin.


def test_rotation_re_encrypts_the_parts(email_host):
    with override_settings(FERNET_KEYS=["old-key"]):
        email_host("shop", "locmem://")
        queue(with_attachment(2 * MB))
        before = message_bytes(only_message())
    output = io.StringIO()
    with override_settings(FERNET_KEYS=["new-key", "old-key"]):
        call_command("rotate_email_host_keys", stdout=output)
    assert "outbox message parts: re-encrypted 3, 0 already" in output.getvalue()
    with override_settings(FERNET_KEYS=["new-key"]):
        assert message_bytes(only_message()) == before


def test_a_part_no_key_decrypts_fails_its_message_alone(relay):
    server = relay(size_limit=10 * MB)
    queue(with_attachment(2 * MB))
    with override_settings(FERNET_KEYS=["a-key-since-lost"]):
        OutboxMessagePart.objects.filter(position=1).update(chunk=b"lost")
    deliver_due()
    row = only_message()
    assert (row.status, row.last_error) == (Status.FAILED, UNREADABLE)
    assert server.envelopes == []
    assert host_is_fine()


def test_a_part_no_key_decrypts_fails_its_message_alone_on_a_local_host(email_host):
    email_host("shop", "locmem://")
    queue(with_attachment(2 * MB))
    with override_settings(FERNET_KEYS=["a-key-since-lost"]):
        OutboxMessagePart.objects.filter(position=1).update(chunk=b"lost")
    deliver_due()
    row = only_message()
    assert (row.status, row.last_error, row.attempts) == (Status.FAILED, UNREADABLE, 1)
    assert mail.outbox == []


def test_a_message_and_its_parts_go_together(email_host):
    email_host("shop", "locmem://")
    queue(with_attachment(2 * MB))
    OutboxMessage.objects.all().delete()
    assert not OutboxMessagePart.objects.exists()


def test_a_message_in_parts_arrives_by_loaddata_whole_and_held(email_host, tmp_path):
    email_host("shop", "locmem://")
    queue(with_attachment(2 * MB))
    before = message_bytes(only_message())
    output = io.StringIO()
    call_command(
        "dumpdata",
        "email_hosts.OutboxMessage",
        "email_hosts.OutboxMessagePart",
        stdout=output,
    )
    OutboxMessage.objects.all().delete()
    path = tmp_path / "mail.json"
    path.write_text(json.dumps(json.loads(output.getvalue())))
    call_command("loaddata", str(path), verbosity=0)
    row = only_message()
    assert (row.status, message_bytes(row)) == (Status.HELD, before)


def test_the_admin_shows_the_start_of_a_message_in_parts(admin_client, email_host):
    email_host("shop", "locmem://")
    queue(with_attachment(2 * MB, subject="Quarterly report"))
    page = admin_client.get(
        f"/admin/email_hosts/outboxmessage/{only_message().pk}/change/"
    ).content.decode()
    assert "Subject: Quarterly report" in page
    assert "first 1.0\xa0MB only, of the 3 parts it is stored in." in page
