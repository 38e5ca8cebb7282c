"""
Big messages over SMTP: a message over the SIZE limit a relay announces
(RFC 1870) is refused before any command leaves, a relay's refusal for its
size becomes ``MessageTooBig``, and DATA leaves in pieces, never as a copy
of the whole message.
"""

import smtplib

import pytest
from django.core.mail import EmailMessage

from email_hosts.backends import get_connection
from email_hosts.smtp import connections, failures, pipelining
from email_hosts.smtp.size_limit import MessageTooBig, announced_limit
from tests.conftest import PASSWORD, USERNAME
from tests.size_limited_relay import SizeLimitedHandler


pytestmark = pytest.mark.django_db
MESSAGE = b"Subject: Big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 70


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def relay_pipelining(request):
    return request.param


@pytest.fixture(autouse=True)
def _pipelined_as_offered(pipelined_as_offered):
    """Every test here runs with and without PIPELINING, pipelined as offered."""


@pytest.fixture
def relay(smtp_server_factory):
    """Start a relay: ``relay(size_limit=..., announced=...)``."""

    def start(**limits):
        return smtp_server_factory(handler_class=SizeLimitedHandler, **limits)

    return start


@pytest.fixture
def host(settings):
    """Make ``relay`` the host "shop"; return its backend, as the outbox sends."""
    opened = []

    def backend(relay):
        settings.EMAIL_HOSTS = {"shop": relay.dsn()}
        opened.append(get_connection("shop", fallback=False))
        opened[-1].open()
        return opened[-1]

    yield backend
    for connection in opened:
        connection.close()


def send(backend, message=MESSAGE):
    return backend.send_bytes("shop@example.com", ["you@example.net"], message)


def test_a_message_over_the_announced_limit_sends_no_command(relay, host):
    server = relay(size_limit=len(MESSAGE) - 1)
    backend = host(server)
    with pytest.raises(MessageTooBig) as raised:
        send(backend)
    assert (raised.value.size, raised.value.limit) == (len(MESSAGE), len(MESSAGE) - 1)
    assert server.handler.pipelined == []  # No MAIL FROM arrived.


def test_the_connection_sends_the_next_message_after_a_refused_one(relay, host):
    server = relay(size_limit=len(MESSAGE))
    backend = host(server)
    with pytest.raises(MessageTooBig):
        send(backend, MESSAGE + b"!")
    assert send(backend) == {}
    assert [envelope.original_content for envelope in server.envelopes] == [MESSAGE]


def test_mail_from_carries_the_size_where_the_relay_announces_one(relay, host):
    server = relay(size_limit=len(MESSAGE))
    send(host(server))
    assert server.envelopes[0].mail_options == [f"SIZE={len(MESSAGE)}"]


def test_a_552_after_data_is_message_too_big_with_the_relays_answer(relay, host):
    server = relay(size_limit=100, announced=None)
    with pytest.raises(MessageTooBig) as raised:
        send(host(server))
    assert str(raised.value) == (
        f"The relay refused the message, {len(MESSAGE):,} bytes, as too big:"
        f" 552 Error: Too much mail data"
    )
    assert server.envelopes == []


def test_a_552_at_mail_from_is_message_too_big(relay, host):
    # "SIZE 0": no fixed limit announced, yet the relay refuses SIZE=n.
    server = relay(size_limit=100, announced=0)
    with pytest.raises(MessageTooBig) as raised:
        send(host(server))
    assert raised.value.answer.startswith("552 Error: message size exceeds")


def test_a_direct_send_raises_an_smtp_exception_as_for_the_relays_refusal(
    relay, settings
):
    # An SMTPException, so that fail_silently hides it as it hides a 552.
    server = relay(size_limit=1000)
    settings.EMAIL_HOSTS = {"shop": server.dsn()}
    message = EmailMessage("Big", "x\n" * 1000, "shop@example.com", ["you@example.net"])
    with pytest.raises(smtplib.SMTPException, match="takes at most 1,000"):
        get_connection("shop").send_messages([message])
    assert server.envelopes == []


@pytest.mark.parametrize(
    ("features", "limit"),
    [({"size": "35882577"}, 35882577), ({"size": ""}, None), ({"size": "0"}, None)],
    ids=["limit", "no-number", "zero"],
)
def test_size_without_a_number_or_zero_is_no_limit(features, limit):
    connection = connections.SMTP()
    connection.esmtp_features = features
    assert announced_limit(connection) == limit


@pytest.mark.parametrize(
    ("code", "answer", "too_big"),
    [
        (552, b"5.3.4 Message size exceeds fixed limit", True),  # Postfix
        (552, b"Error: Too much mail data", True),  # aiosmtpd
        (552, b"5.2.3 Your message exceeded Google's message size limits", True),
        (554, b"5.3.4 Message too big for system", True),
        (552, b"5.7.0 This message was blocked because of its content", False),
        (452, b"4.3.1 Insufficient system storage", False),
        (550, b"5.1.1 No such user", False),
    ],
)
def test_a_refusal_for_the_messages_size_is_told_by_its_codes(code, answer, too_big):
    exc = smtplib.SMTPDataError(code, answer)
    assert failures.is_too_big(exc) is too_big


def test_data_leaves_in_pieces_and_arrives_whole(
    smtp_server_factory, monkeypatch, relay_pipelining
):
    # Dots at every place a piece can start or end.
    message = b"Subject: Dots\r\n\r\n" + b".\r\n..x\r\n.\r\n" * 40 + b"."
    server = smtp_server_factory()
    monkeypatch.setattr(pipelining, "_PIECE_BYTES", 7)
    with connections.SMTP("127.0.0.1", server.port, timeout=5) as connection:
        connection.login(USERNAME, PASSWORD)
        connection.sendmail("shop@example.com", ["a@example.org"], message)
    assert server.envelopes[0].original_content == message + b"\r\n"
