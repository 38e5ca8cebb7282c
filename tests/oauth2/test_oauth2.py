"""
OAuth2 relays with client credentials: a real OAuth2 server
(django-oauth-toolkit) issues the tokens, a real relay checks them.
"""

import os
import smtplib
import sys
import uuid

import pytest
from django.core.cache import caches
from django.core.mail import EmailMessage
from django.test.utils import override_settings
from django.views.debug import ExceptionReporter

from email_hosts.backends import get_connection
from email_hosts.exceptions import OAuth2TokenError
from email_hosts.oauth2 import tokens
from tests.oauth2_relay import CLIENT_SECRET, MAILBOX


pytestmark = pytest.mark.django_db(transaction=True)


def _send(key, *, fail_silently=False):
    message = EmailMessage("Hello", "Body", "shop@example.com", ["to@example.org"])
    return (
        get_connection(key, fallback=False).send_messages([message])
        if not fail_silently
        else get_connection(key).send_messages([message])
    )


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_a_stored_host_logs_in_with_a_token_from_the_oauth2_server(
    email_host, oauth2_server, oauth2_relay, mechanism
):
    email_host("shop", oauth2_server.dsn(oauth2_relay, mechanism=mechanism))
    assert _send("shop") == 1
    assert oauth2_relay.handler.logins == [(mechanism.upper(), MAILBOX, True)]
    assert oauth2_relay.envelopes[0].authenticated


def test_a_host_from_settings_logs_in_the_same_way(
    oauth2_server, oauth2_relay, settings
):
    settings.EMAIL_HOSTS = {"shop": oauth2_server.dsn(oauth2_relay)}
    assert _send("shop") == 1
    assert oauth2_relay.handler.logins == [("XOAUTH2", MAILBOX, True)]


@override_settings(EMAIL_HOSTS_CONNECTION_REUSE=False)
def test_one_token_serves_every_login_until_it_expires(
    email_host, oauth2_server, oauth2_relay
):
    email_host("shop", oauth2_server.dsn(oauth2_relay))
    for _ in range(3):
        assert _send("shop") == 1
    assert len(oauth2_relay.handler.logins) == 3
    assert oauth2_server.tokens_issued() == 1


@override_settings(EMAIL_HOSTS_CONNECTION_REUSE=False)
def test_a_revoked_token_gets_one_new_token_and_one_new_login(
    email_host, oauth2_server, oauth2_relay
):
    email_host("shop", oauth2_server.dsn(oauth2_relay))
    _send("shop")
    oauth2_server.revoke_tokens()

    assert _send("shop") == 1
    assert [accepted for *_, accepted in oauth2_relay.handler.logins] == [
        True,
        False,
        True,
    ]
    assert oauth2_server.tokens_issued() == 1
    assert len(oauth2_relay.envelopes) == 2


@pytest.fixture
def relay_refuses_every_token(monkeypatch):
    """As when the tenant turned SMTP AUTH off: every token is refused."""
    monkeypatch.setattr("tests.oauth2_relay._introspect", lambda token: False)


@override_settings(EMAIL_HOSTS_CONNECTION_REUSE=False)
@pytest.mark.usefixtures("relay_refuses_every_token")
def test_a_token_the_relay_keeps_refusing_is_not_tried_a_third_time(
    email_host, oauth2_server, oauth2_relay
):
    email_host("shop", oauth2_server.dsn(oauth2_relay))
    with pytest.raises(smtplib.SMTPAuthenticationError):
        _send("shop")
    assert len(oauth2_relay.handler.logins) == 2
    assert oauth2_relay.envelopes == []


@pytest.fixture
def shared_cache(settings):
    """
    Django's Redis cache under keys of this test alone; returns a function
    that gives what the cache holds under them.
    """
    prefix = f"email-hosts-test-{os.getpid()}-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379",
            "KEY_PREFIX": prefix,
        }
    }
    client = caches["default"]._cache.get_client()

    def values():
        return [client.get(key) for key in client.scan_iter(f"{prefix}:*")]

    yield values
    # Only these keys: clear() would empty the database of every other run.
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@override_settings(EMAIL_HOSTS_CONNECTION_REUSE=False)
def test_processes_share_a_token_through_the_cache_encrypted(
    email_host, oauth2_server, oauth2_relay, shared_cache
):
    email_host("shop", oauth2_server.dsn(oauth2_relay))
    _send("shop")
    tokens.forget()  # As a process that starts now knows nothing.

    assert _send("shop") == 1
    assert oauth2_server.tokens_issued() == 1
    token = oauth2_server.application.accesstoken_set.get().token
    [stored] = shared_cache()
    assert token.encode() not in stored


def test_a_wrong_client_secret_names_the_host_and_the_providers_error(
    email_host, oauth2_server, oauth2_relay
):
    email_host("shop", oauth2_server.dsn(oauth2_relay, secret="wrong-secret-4Kp"))
    with pytest.raises(OAuth2TokenError) as raised:
        _send("shop")
    message = str(raised.value)
    assert message.startswith("Email host 'shop': the token endpoint at localhost")
    assert "invalid_client" in message
    assert "Check client_id and the client secret" in message
    assert oauth2_relay.handler.logins == []


def test_an_unreachable_token_endpoint_says_where_it_tried(
    email_host, oauth2_server, oauth2_relay, refused_port
):
    dsn = oauth2_server.dsn(oauth2_relay).replace(
        oauth2_server.url.split("//")[1].replace(":", "%3A"),
        f"127.0.0.1%3A{refused_port}",
    )
    email_host("shop", dsn)
    with pytest.raises(
        OAuth2TokenError, match="could not get an access token from 127.0.0.1"
    ):
        _send("shop")


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.usefixtures("relay_refuses_every_token")
def test_no_secret_or_token_reaches_an_error_report(
    email_host, oauth2_server, oauth2_relay, settings, debug
):
    settings.DEBUG = debug
    email_host("shop", oauth2_server.dsn(oauth2_relay))
    try:
        _send("shop")
    except smtplib.SMTPAuthenticationError:
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    issued = [token.token for token in oauth2_server.application.accesstoken_set.all()]
    assert len(issued) == 2  # The first, and the one that replaced it.
    assert "XOAUTH2" in report  # The frames are there...
    assert CLIENT_SECRET not in report  # ...but not the secret
    assert not [token for token in issued if token in report]  # or a token.


def test_a_failed_login_lets_silent_sends_fail_quietly(
    email_host, oauth2_server, oauth2_relay
):
    email_host("shop", oauth2_server.dsn(oauth2_relay, secret="wrong-secret-4Kp"))
    message = EmailMessage("Hello", "Body", "shop@example.com", ["to@example.org"])
    backend = get_connection("shop")
    backend.fail_silently = True
    assert backend.send_messages([message]) == 0


def test_check_connection_says_who_logged_in_and_for_how_long(
    email_host, oauth2_server, oauth2_relay, press_button
):
    host = email_host("shop", oauth2_server.dsn(oauth2_relay))
    assert press_button(host) == [
        (
            "Email host 'shop': the connection works. It logged in as"
            " mailbox@example.com with an OAuth2 token from localhost, valid for 60"
            " more minutes."
        )
    ]


def test_send_test_email_goes_out_through_an_oauth2_host(
    email_host, oauth2_server, oauth2_relay, press_button
):
    host = email_host("shop", oauth2_server.dsn(oauth2_relay))
    [message] = press_button(host, "send_test_email")
    assert message.startswith("Email host 'shop': sent a test email to")
    assert oauth2_relay.handler.logins == [("XOAUTH2", MAILBOX, True)]
    assert len(oauth2_relay.envelopes) == 1


def test_a_refused_client_secret_shows_in_the_admin_without_the_secret(
    email_host, oauth2_server, oauth2_relay, press_button, admin_client
):
    host = email_host(
        "shop", oauth2_server.dsn(oauth2_relay, secret="wrong-secret-4Kp")
    )
    [message] = press_button(host)
    assert "refused to issue an access token (invalid_client" in message
    assert "It has no backup" in message
    changelist = admin_client.get("/admin/email_hosts/emailhost/").content.decode()
    assert "invalid_client" in changelist  # The host's status.
    assert "wrong-secret-4Kp" not in message + changelist
