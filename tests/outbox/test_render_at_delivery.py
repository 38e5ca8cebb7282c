"""
A plain message is queued as what it says and rendered when it leaves,
with the bytes Django renders; anything else is rendered when queued.
"""

import email
import email.policy
import json
import re

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import override_settings
from django.utils import translation
from django.utils.translation import gettext_lazy
from hypothesis import given, strategies

from email_hosts import fields
from email_hosts.hosts import status
from email_hosts.outbox import OutboxBackend
from email_hosts.outbox.backend import MessageTooLarge
from email_hosts.outbox.models import OutboxMessage, Status
from email_hosts.outbox.render_at_delivery import as_recipe, render_recipe
from email_hosts.outbox.rendering import render
from tests.fuzzing import fuzz


pytestmark = pytest.mark.django_db(transaction=True)


def comparable(data):
    """
    ``data`` (a message's bytes) without what differs on each rendering, and
    without the line end SMTP's DATA adds.
    """
    data = data.removesuffix(b"\r\n")
    data = re.sub(
        rb"(?m)^(Date: )(.*)$", lambda m: m[1] + re.sub(rb"\w", b"x", m[2]), data
    )
    data = re.sub(rb"(?m)^(Message-ID: <)[^@]*", rb"\1x", data)
    for boundary in set(re.findall(rb'boundary="([^"]+)"', data)):
        data = data.replace(boundary, b"boundary")
    return data


def as_it_leaves(message):
    recipe = as_recipe(message, max_bytes=50 * 1024 * 1024)
    assert recipe is not None
    return recipe, render_recipe(recipe.message)


#: What str.splitlines() breaks a line at; Django refuses some in a header.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
ONE_LINE = strategies.text(
    strategies.characters(exclude_categories=("Cs",), exclude_characters=LINE_BREAKS),
    max_size=60,
)
ADDRESSES = strategies.sampled_from(
    [
        "you@example.net",
        "Jürgen Müller <juergen@example.de>",
        '"Doe, John" <john@example.com>',
        "kunde@bücher.example",
        "Ünïcödé Name, with comma <uni@example.org>",
    ]
)


#: Header names and alternative types that Django writes, refuses, or
#: renders as it does any other: a message with one of the first two kinds
#: must be rendered, and refused, when queued.
HEADER_NAMES = [
    "X-Campaign", "Content-Type", "content-transfer-encoding", "MIME-Version",
    "Bcc", "X-Ünï", "X Space", "Reply-To", "To",
]  # fmt: skip
MIMETYPES = [
    "text/html", "text/x-amp-html", "text/html\r\nBcc: victim@example.com",
    "text/html\u2028", "html", "TEXT/HTML",
]  # fmt: skip
ODD_SUBJECTS = ["Page\x0cbreak", "Line\u2028end", "Lone \ud800 surrogate"]


@fuzz(examples=200)
@given(
    subject=ONE_LINE | strategies.sampled_from(ODD_SUBJECTS),
    body=strategies.text(strategies.characters(exclude_categories=("Cs",))),
    to=strategies.lists(ADDRESSES, min_size=1, max_size=3),
    cc=strategies.lists(ADDRESSES, max_size=2),
    reply_to=strategies.lists(ADDRESSES, max_size=1),
    html=strategies.none() | strategies.text(max_size=200),
    mimetype=strategies.sampled_from(MIMETYPES),
    on_a_plain_message=strategies.booleans(),
    subtype=strategies.sampled_from([None, "html"]),
    header=strategies.none()
    | strategies.tuples(strategies.sampled_from(HEADER_NAMES), ONE_LINE),
)
def test_a_message_leaves_with_the_bytes_django_renders_or_is_refused_as_django_does(
    *, subject, body, to, cc, reply_to, html, mimetype, on_a_plain_message, subtype,
    header,
):  # fmt: skip
    headers = dict([header]) if header else {}
    cls = mail.EmailMessage if on_a_plain_message else mail.EmailMultiAlternatives
    message = cls(
        subject, body, "Shop <shop@example.com>", to, cc=cc, reply_to=reply_to,
        headers=headers,
    )  # fmt: skip
    if html is not None:
        # Django ignores the alternatives of a plain EmailMessage.
        message.alternatives = [(html, mimetype)]
    if subtype is not None:
        message.content_subtype = subtype
    try:
        rendered_now = render(message)
    except Exception as refused:  # noqa: BLE001 -- so must the outbox, now.
        with pytest.raises(type(refused)):
            as_recipe(message, max_bytes=50 * 1024 * 1024) or render(message)
        return
    recipe = as_recipe(message, max_bytes=50 * 1024 * 1024)
    ordinary = (
        subject not in ODD_SUBJECTS and not reply_to
        and (not header or header[0] == "X-Campaign")
        and (html is None or mimetype in MIMETYPES[:2] and not on_a_plain_message)
    )  # fmt: skip
    if recipe is None:  # Rendered when queued, where Django checks its parts.
        assert not ordinary
        return
    data = render_recipe(recipe.message)
    assert comparable(data) == comparable(rendered_now.message)
    assert (recipe.from_email, recipe.recipients) == (
        rendered_now.from_email,
        rendered_now.recipients,
    )


def test_date_and_message_id_are_those_of_when_it_was_queued_on_every_attempt():
    message = mail.EmailMessage("Hi", "Hello", "shop@example.com", ["you@example.net"])
    recipe, first = as_it_leaves(message)
    second = render_recipe(recipe.message)
    assert first == second
    parsed = email.message_from_bytes(first, policy=email.policy.SMTP)
    assert parsed["Message-ID"] == recipe.message_id
    # Django's own rendering now differs only in its fresh Message-ID.
    assert message.message()["Message-ID"] != recipe.message_id


def test_the_message_id_a_message_brings_is_kept():
    message = mail.EmailMessage(
        "Hi",
        "Hello",
        to=["you@example.net"],
        headers={"message-id": "<mine@example.com>"},
    )
    recipe, data = as_it_leaves(message)
    assert recipe.message_id == "<mine@example.com>"
    assert data.count(b"<mine@example.com>") == 1


class Templated(mail.EmailMessage):
    """A subclass, as template-rendering packages write: it renders its own way."""

    def message(self, **kwargs):
        self.body = "Rendered by the subclass"
        return super().message(**kwargs)


def with_encoding():
    message = mail.EmailMessage("Hi", "Hello", to=["you@example.net"])
    message.encoding = "iso-8859-1"
    return message


def with_mixed_subtype():
    message = mail.EmailMessage("Hi", "Hello", to=["you@example.net"])
    message.mixed_subtype = "related"
    return message


def with_attachment():
    message = mail.EmailMessage("Hi", "Hello", to=["you@example.net"])
    message.attach("a.txt", "attached", "text/plain")
    return message


@pytest.mark.parametrize(
    "make",
    [
        with_attachment,
        with_encoding,
        lambda: Templated("Hi", "Hello", to=["you@example.net"]),
        with_mixed_subtype,
    ],
    ids=["attachment", "encoding", "subclass", "mixed-subtype"],
)
def test_a_message_not_plain_text_is_rendered_when_queued(
    make, email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    message = make()
    assert as_recipe(message, max_bytes=10**9) is None
    OutboxBackend(host="shop").send_messages([make()])
    [envelope] = smtp_server.envelopes
    assert comparable(envelope.original_content) == comparable(render(message).message)
    assert OutboxMessage.objects.get().render_at_delivery is False


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "Injected\nBcc: victim@example.com"},
        {"headers": {"X-Note": "two\r\nlines"}},
        {"to": ["you@example.net\nBcc: victim@example.com"]},
    ],
    ids=["subject", "header", "address"],
)
def test_a_line_break_in_a_header_is_refused_when_queued_as_django_does(fields):
    message = mail.EmailMessage(
        **{"subject": "Hi", "body": "Hello", "to": ["you@example.net"], **fields}
    )
    with pytest.raises(ValueError) as django_refuses:
        render(message)
    with pytest.raises(type(django_refuses.value)):
        OutboxBackend(host="shop").send_messages([message])
    assert OutboxMessage.objects.count() == 0


def test_lazy_text_is_in_the_language_of_the_request_that_queued_it(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    with translation.override("de"):
        message = mail.EmailMessage(
            gettext_lazy("Password reset"),
            gettext_lazy("Log in"),
            to=["you@example.net"],
        )
        OutboxBackend(host="shop").send_messages([message])
        assert OutboxMessage.objects.get().render_at_delivery is True
    [envelope] = smtp_server.envelopes
    parsed = email.message_from_bytes(
        envelope.original_content, policy=email.policy.SMTP
    )
    assert parsed["Subject"] == "Passwort zurücksetzen"
    assert parsed.get_content().strip() == "Anmelden"


@override_settings(EMAIL_HOSTS_OUTBOX={"MAX_MESSAGE_BYTES": 10_000})
def test_the_size_limit_is_checked_on_the_rendered_size_when_it_could_pass():
    backend = OutboxBackend(host="shop")
    fits = mail.EmailMessage("Hi", "x" * 9_000, to=["you@example.net"])
    assert backend.send_messages([fits]) == 1
    assert OutboxMessage.objects.get().render_at_delivery is False
    fixed = {"Date": "Thu, 03 Dec 2026 12:00:00 -0000", "Message-ID": "<a@example.com>"}
    too_big = mail.EmailMessage(
        "Hi", "x" * 11_000, to=["you@example.net"], headers=fixed
    )
    with pytest.raises(MessageTooLarge) as refused:
        backend.send_messages([too_big])
    assert refused.value.size == len(render(too_big).message)
    assert OutboxMessage.objects.count() == 1


def test_what_is_stored_is_what_the_message_says_encrypted():
    message = mail.EmailMessage("Reset", "secret-reset-token", to=["you@example.net"])
    OutboxBackend(host="shop").send_messages([message])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT message FROM {OutboxMessage._meta.db_table}")
        [(stored,)] = cursor.fetchall()
    assert b"secret-reset-token" not in bytes(stored)
    said = json.loads(OutboxMessage.objects.get().message)
    assert (said["subject"], said["body"]) == ("Reset", "secret-reset-token")


def test_a_message_django_can_no_longer_render_fails_alone_and_the_host_sends_on(
    email_host, smtp_server
):
    # As after a Django upgrade that refuses what the one that queued it took.
    email_host("shop", smtp_server.dsn())
    backend = OutboxBackend(host="shop")
    with transaction.atomic():
        backend.send_messages(
            [mail.EmailMessage("Hi", "Hello", to=["you@example.net"])]
        )
        broken = OutboxMessage.objects.get()
        broken.message = json.dumps({"kind": "message", "unknown": "field"}).encode()
        broken.save()
        backend.send_messages(
            [mail.EmailMessage("Next", "Hello", to=["you@example.net"])]
        )
    broken.refresh_from_db()
    assert broken.status == Status.FAILED
    assert "could not render this message as it was queued (KeyError)" in (
        broken.last_error
    )
    [envelope] = smtp_server.envelopes
    assert b"Subject: Next" in envelope.original_content
    assert not status.paused(["shop"])


def test_a_message_with_more_text_than_a_recipe_holds_is_rendered_and_sent_whole(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    message = mail.EmailMultiAlternatives("Hi", "Hello", to=["you@example.net"])
    html = "<p>" + "Grüße " * 20_000 + "</p>"  # Over MAX_TEXT characters.
    message.attach_alternative(html, "text/html")
    OutboxBackend(host="shop").send_messages([message])
    assert OutboxMessage.objects.get().render_at_delivery is False
    [envelope] = smtp_server.envelopes
    parsed = email.message_from_bytes(
        envelope.original_content, policy=email.policy.SMTP
    )
    assert parsed.get_body(("html",)).get_content().strip() == html


def test_a_worker_keeps_no_message_it_read_in_memory(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    with transaction.atomic():
        message = mail.EmailMessage("Reset", "secret-reset-token", to=["a@example.net"])
        OutboxBackend(host="shop").send_messages([message])
        row = OutboxMessage.objects.get()
        assert b"secret-reset-token" in row.message
        assert b"secret-reset-token" not in getattr(fields._last_read, "data", b"")
