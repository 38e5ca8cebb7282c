"""Sending through stored hosts to real SMTP servers on 127.0.0.1."""

import smtplib
import ssl
from email import message_from_bytes

import pytest
from django.core.mail import EmailMessage

from email_hosts.backends import get_connection
from tests.conftest import PASSWORD


def _message(**kwargs):
    return EmailMessage(subject="Hi", body="Hello", to=["to@example.org"], **kwargs)


def _send(key, message=None):
    # The context manager closes a half-open connection when login fails.
    with get_connection(key) as connection:
        return connection.send_messages([message or _message()])


def _from_header(envelope):
    return message_from_bytes(envelope.original_content)["From"]


def test_sends_with_auth(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(), default_from="shop@example.com")
    assert _send("shop") == 1
    [envelope] = smtp_server.envelopes
    assert envelope.authenticated
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "shop@example.com",
        ["to@example.org"],
    )


def test_sends_over_starttls_to_a_server_signed_by_the_test_ca(
    email_host, starttls_server, trust_test_ca
):
    email_host("shop", starttls_server.dsn("submission"))
    assert _send("shop") == 1
    assert starttls_server.envelopes[0].authenticated


def test_sends_over_implicit_tls(email_host, implicit_tls_server, trust_test_ca):
    email_host("shop", implicit_tls_server.dsn(query="ssl&timeout=5"))
    assert _send("shop") == 1
    assert implicit_tls_server.envelopes[0].authenticated


def test_untrusted_certificate_fails_tls(
    email_host, smtp_server_factory, untrusted_ca, trust_test_ca
):
    server = smtp_server_factory(tls=untrusted_ca.server_context)
    email_host("shop", server.dsn("submission"))
    with pytest.raises(ssl.SSLCertVerificationError):
        _send("shop")
    assert server.envelopes == []


def test_starttls_without_the_test_ca_is_not_trusted(email_host, starttls_server):
    # Proves the CA is trusted only where a test asks for it.
    email_host("shop", starttls_server.dsn("submission"))
    with pytest.raises(ssl.SSLCertVerificationError):
        _send("shop")


def test_refused_connection_raises(email_host, refused_port):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=2")
    with pytest.raises(ConnectionRefusedError):
        _send("shop")


def test_silent_server_times_out_at_the_host_timeout(email_host, silent_server):
    email_host("shop", f"smtp://127.0.0.1:{silent_server}?timeout=1")
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        _send("shop")


def test_silent_server_times_out_at_the_default_timeout(
    email_host, silent_server, settings
):
    settings.EMAIL_HOSTS_DEFAULT_TIMEOUT = 1
    email_host("shop", f"smtp://127.0.0.1:{silent_server}")
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        _send("shop")


def test_rejected_login_raises_without_the_password(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(password="wrong-password"))
    with pytest.raises(smtplib.SMTPAuthenticationError) as excinfo:
        _send("shop")
    assert "wrong-password" not in str(excinfo.value)
    assert PASSWORD not in str(excinfo.value)
    assert smtp_server.envelopes == []


def test_default_from_replaces_unset_sender_in_header_and_envelope(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn(), default_from="Shop <shop@example.com>")
    _send("shop")
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "shop@example.com"
    assert _from_header(envelope) == "Shop <shop@example.com>"


def test_explicit_sender_is_kept(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(), default_from="Shop <shop@example.com>")
    _send("shop", _message(from_email="Club <club@example.org>"))
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "club@example.org"
    assert _from_header(envelope) == "Club <club@example.org>"


def test_callers_message_keeps_its_sender(email_host, smtp_server, settings):
    email_host("shop", smtp_server.dsn(), default_from="shop@example.com")
    message = _message()
    _send("shop", message)
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_row_default_from_wins_over_dsn_default_from_email(email_host, smtp_server):
    dsn = smtp_server.dsn(query="timeout=5&_default_from_email=dsn@example.com")
    email_host("shop", dsn, default_from="row@example.com")
    _send("shop")
    assert smtp_server.envelopes[0].mail_from == "row@example.com"


def test_dsn_default_from_email_serves_a_row_without_default_from(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn(query="_default_from_email=dsn@example.com"))
    _send("shop")
    assert smtp_server.envelopes[0].mail_from == "dsn@example.com"


def test_two_hosts_reach_their_own_servers(email_host, smtp_server_factory):
    shop, club = smtp_server_factory(), smtp_server_factory()
    email_host("shop", shop.dsn(), default_from="shop@example.com")
    email_host("club", club.dsn(), default_from="club@example.org")
    _send("shop")
    _send("club")
    assert [e.mail_from for e in shop.envelopes] == ["shop@example.com"]
    assert [e.mail_from for e in club.envelopes] == ["club@example.org"]
