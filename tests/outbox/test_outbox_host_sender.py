"""
A message without a sender of its own leaves from its host's sender, which
the worker reads when it sends: queueing it reads no host.
"""

from email.utils import parseaddr

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from email_hosts.outbox import OutboxBackend
from email_hosts.outbox.delivery import deliver_due
from email_hosts.outbox.host_sender import with_host_sender
from email_hosts.outbox.models import OutboxMessage


pytestmark = pytest.mark.django_db(transaction=True)
QUEUE_ONLY = override_settings(EMAIL_HOSTS_OUTBOX={"TASK_BACKEND": "database"})


@QUEUE_ONLY
def test_queueing_mail_without_a_sender_reads_no_host(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(), default_from="Shop <shop@example.com>")
    message = mail.EmailMessage("Reset", "Hi", to=["you@example.net"])
    for _ in range(2):  # The run of this second, and the one at its end.
        OutboxBackend(host="shop").send_messages([message])
    with CaptureQueriesContext(connection) as queries:
        OutboxBackend(host="shop").send_messages([message])
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert [s for s in statements if s not in {"BEGIN", "COMMIT"}] == ["INSERT"]


@QUEUE_ONLY
def test_the_host_sender_read_when_it_leaves_is_the_one_it_uses(
    email_host, smtp_server
):
    host = email_host("shop", smtp_server.dsn(), default_from="shop@example.com")
    OutboxBackend(host="shop").send_messages(
        [mail.EmailMessage("Reset", "Hi", to=["you@example.net"])]
    )
    host.default_from = "Zoë's Shop <orders@example.com>"
    host.save()  # After it was queued, before it leaves.
    deliver_due()
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "orders@example.com"
    headers = envelope.original_content.split(b"\r\n\r\n")[0]
    assert headers.count(b"From:") == 1
    assert b"From: =?utf-8?q?Zo=C3=AB=27s?= Shop <orders@example.com>" in headers


def test_a_message_with_its_own_sender_keeps_it():
    row = OutboxMessage(from_email="me@example.org")
    data = b"From: me@example.org\r\nSubject: Hi\r\n\r\nFrom: not a header\r\n"
    assert with_host_sender(row, data, "shop@example.com") == ("me@example.org", data)


@override_settings(DEFAULT_FROM_EMAIL="webmaster@localhost")
def test_a_folded_from_header_is_replaced_whole_and_the_body_untouched():
    row = OutboxMessage(from_email="webmaster@localhost")
    data = (
        b"Subject: Hi\r\nFrom: \r\n webmaster@localhost\r\nTo: you@example.net\r\n"
        b"\r\nFrom: a line of the body\r\n"
    )
    sender, sent = with_host_sender(row, data, "Shop <shop@example.com>")
    assert parseaddr(sender)[1] == "shop@example.com"  # Django < 6 keeps the name.
    assert sent == (
        b"Subject: Hi\r\nFrom: Shop <shop@example.com>\r\nTo: you@example.net\r\n"
        b"\r\nFrom: a line of the body\r\n"
    )
