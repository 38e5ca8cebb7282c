"""
Outbox messages and their envelopes are stored encrypted, rotate with the
keys, and a message no key can read fails alone, never its host.
"""

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings

from email_hosts import rotation
from email_hosts.models import HostStatus
from email_hosts.outbox import OutboxBackend
from email_hosts.outbox.delivery import deliver_due
from email_hosts.outbox.models import UNREADABLE, OutboxMessage, Status


pytestmark = pytest.mark.django_db
OLD, NEW = ["old-key"], ["new-key", "old-key"]


def _queue(subject="Hi", to="ann@example.net"):
    # Under the db fixture nothing commits: the message waits for deliver_due().
    OutboxBackend(host="shop").send_messages(
        [mail.EmailMessage(subject, "Body", "shop@example.com", [to])]
    )


def _raw_envelope():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT from_email, recipients, pending_recipients, refused_recipients,"
            " last_error FROM email_hosts_outboxmessage"
        )
        return [b"".join(bytes(column) for column in row) for row in cursor.fetchall()]


def test_the_envelope_is_stored_encrypted(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    _queue()
    [raw] = _raw_envelope()
    assert b"ann@" not in raw and b"shop@" not in raw
    row = OutboxMessage.objects.get()
    assert (row.from_email, row.recipients) == ("shop@example.com", ["ann@example.net"])


def test_rotation_covers_outbox_messages_and_they_go_out_after(email_host, smtp_server):
    with override_settings(FERNET_KEYS=OLD):
        email_host("shop", smtp_server.dsn())
        _queue()
    with override_settings(FERNET_KEYS=NEW):
        output = _rotate()
    assert "outbox messages: re-encrypted 1, 0 already use the current key." in output
    with override_settings(FERNET_KEYS=["new-key"]):  # Step 3: the old key goes.
        deliver_due()
        assert OutboxMessage.objects.get().status == Status.SENT
    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [
        ["ann@example.net"]
    ]


def _rotate():
    from io import StringIO  # noqa: PLC0415

    output = StringIO()
    call_command("rotate_email_host_keys", stdout=output)
    return output.getvalue()


def test_every_binary_column_of_the_app_is_one_rotation_covers():
    for model in apps.get_app_config("email_hosts").get_models():
        binary = {
            field.name
            for field in model._meta.concrete_fields
            if field.get_internal_type() == "BinaryField"
        }
        covered = {field.name for field in rotation.encrypted_fields(model)}
        assert binary <= covered, model


def test_an_unreadable_message_fails_alone_and_never_its_host(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    with override_settings(FERNET_KEYS=["a-key-since-lost"]):
        _queue("Lost")
    _queue("Readable", to="bob@example.net")
    deliver_due()
    statuses = dict(OutboxMessage.objects.values_list("message_id", "status"))
    lost = OutboxMessage.objects.get(status=Status.FAILED)
    assert sorted(statuses.values()) == [Status.FAILED, Status.SENT]
    assert lost.last_error == UNREADABLE
    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [
        ["bob@example.net"]
    ]
    status = HostStatus.objects.get(key="shop")
    assert (status.ok, status.paused_until) == (True, None)


def test_rotation_never_overwrites_what_a_worker_wrote_meanwhile(
    email_host, smtp_server, monkeypatch
):
    with override_settings(FERNET_KEYS=OLD):
        email_host("shop", smtp_server.dsn())
        _queue()
    write = rotation._write

    def a_worker_writes_first(model, using, pk, fields, rewrites):
        if model is OutboxMessage:
            # As a worker does with the first key, between read and write.
            OutboxMessage.objects.filter(pk=pk).update(pending_recipients=["later"])
        write(model, using, pk, fields, rewrites)

    monkeypatch.setattr(rotation, "_write", a_worker_writes_first)
    with override_settings(FERNET_KEYS=NEW):
        _rotate()
    with override_settings(FERNET_KEYS=["new-key"]):
        row = OutboxMessage.objects.get()
        assert row.pending_recipients == ["later"]  # The worker's, not undone.
        assert row.recipients == ["ann@example.net"]  # Rotated beside it.
