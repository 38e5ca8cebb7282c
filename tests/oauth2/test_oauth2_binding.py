"""
An OAuth2 token never leaves for another relay: stored and cached tokens
are bound to the destination they were issued for (relay host, port,
security, mailbox, token endpoint, client ID, client secret), and any
change to it drops them. Against a real OAuth2 server and real relays.
"""

import pytest
from django.core.mail import EmailMessage
from django.urls import reverse

from email_hosts.backends import get_connection
from email_hosts.exceptions import OAuth2TokenError
from email_hosts.models import ConnectedAccount, EmailHost
from email_hosts.oauth2 import tokens
from email_hosts.oauth2.binding import Destination
from email_hosts.smtp import pool
from tests.conftest import thread_connections_collected
from tests.oauth2_relay import CLIENT_SECRET, MAILBOX, OAuth2RelayHandler, give_consent


pytestmark = pytest.mark.django_db(transaction=True)


class TokenRecordingRelay(OAuth2RelayHandler):
    """A relay someone else controls: it keeps every bearer token it is shown."""

    def __init__(self, **behaviour):
        super().__init__(**behaviour)
        self.tokens_seen = []

    async def _check(self, server, mechanism, user, fields):
        self.tokens_seen.append(fields.get("auth", "").removeprefix("Bearer "))
        return await super()._check(server, mechanism, user, fields)


@pytest.fixture
def other_relay(smtp_server_factory, test_ca, trust_test_ca):
    return smtp_server_factory(
        tls=test_ca.server_context, handler_class=TokenRecordingRelay
    )


@pytest.fixture
def connected(email_host, oauth2_server, oauth2_relay, admin_client):
    host = email_host("shop", oauth2_server.delegated_dsn(oauth2_relay))
    give_consent(admin_client, host)
    account = ConnectedAccount.objects.get(host=host)
    assert account.access_token
    return host


def _send(key="shop"):
    message = EmailMessage("Hi", "Body", "shop@example.com", ["to@example.org"])
    return get_connection(key, fallback=False).send_messages([message])


def _form(oauth2_server, relay, **changes):
    """The admin's change form of the connected host, as a browser posts it."""
    return {
        "key": "shop",
        "kind": "submission",
        "host": "127.0.0.1",
        "port": relay.port,
        "security": "starttls",
        "login": "authorization_code",
        "username": MAILBOX,
        "password": "",
        "timeout": 5,
        "client_id": oauth2_server.delegated_application.client_id,
        "authorize_url": f"{oauth2_server.url}/o/authorize/",
        "token_url": oauth2_server.token_url,
        "scope": "smtp",
        "sasl": "xoauth2",
    } | changes


def _tokens_dropped():
    account = ConnectedAccount.objects.get()
    return (account.access_token, account.refresh_token) == ("", "")


def test_re_pointing_a_connected_host_sends_its_token_nowhere(
    connected, oauth2_server, other_relay, admin_client
):
    change = reverse("admin:email_hosts_emailhost_change", args=[connected.pk])
    answer = admin_client.post(
        change, _form(oauth2_server, other_relay, password="any value at all")
    )
    assert answer.status_code == 302
    with thread_connections_collected():  # The check's, on SQLite.
        page = admin_client.post(
            reverse(
                "admin:email_hosts_emailhost_check_connection", args=[connected.pk]
            ),
            follow=True,
        )
    [message] = [str(m) for m in page.context["messages"] if "'shop':" in str(m)]
    assert "reconnect needed" in message
    assert other_relay.handler.tokens_seen == []
    assert _tokens_dropped()
    with pytest.raises(OAuth2TokenError, match="reconnect needed"):
        _send()
    assert other_relay.handler.tokens_seen == []
    assert "Reconnect needed" in admin_client.get(change).content.decode()


def test_a_host_re_pointed_past_save_gets_no_token_either(
    connected, oauth2_server, other_relay
):
    moved = oauth2_server.delegated_dsn(other_relay)
    EmailHost.objects.filter(key="shop").update(dsn=moved)  # No signal, no form.
    with pytest.raises(OAuth2TokenError, match="reconnect needed"):
        _send()
    assert other_relay.handler.tokens_seen == []
    assert _tokens_dropped()


def _with(dsn, old, new):
    assert old in dsn
    return dsn.replace(old, new)


#: Each part of a destination, changed in the stored DSN.
DESTINATION_CHANGES = {
    "relay host": lambda dsn, server: _with(dsn, "@127.0.0.1:", "@localhost:"),
    "port": lambda dsn, server: _with(dsn, "@127.0.0.1:", "@127.0.0.1:1"),
    "security": lambda dsn, server: _with(dsn, "submission://", "smtp://") + "&ssl",
    "mailbox": lambda dsn, server: _with(dsn, "mailbox%40", "other%40"),
    "token endpoint": lambda dsn, server: _with(dsn, "%2Fo%2Ftoken%2F", "%2Fo%2Ft%2F"),
    "client ID": lambda dsn, server: _with(dsn, "client_id=", "client_id=x"),
    "client secret": lambda dsn, server: _with(dsn, CLIENT_SECRET, "new-secret"),
}


@pytest.mark.parametrize(
    "change", DESTINATION_CHANGES.values(), ids=DESTINATION_CHANGES
)
def test_any_change_of_the_destination_drops_the_stored_tokens(
    connected, oauth2_server, change
):
    connected.refresh_from_db()
    connected.dsn = change(connected.dsn, oauth2_server)
    connected.save()
    assert _tokens_dropped()
    assert ConnectedAccount.objects.get().reconnect_reason.startswith(
        "the host's relay, port, security, mailbox"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [("timeout=5", "timeout=7"), ("scope=smtp", "scope=smtp+introspection")],
)
def test_other_changes_keep_the_tokens(connected, old, new):
    connected.refresh_from_db()
    connected.dsn = _with(connected.dsn, old, new)
    connected.save()
    assert not _tokens_dropped()
    assert _send() == 1


def test_a_new_client_secret_is_only_used_at_the_token_endpoint(
    connected, oauth2_server, oauth2_relay, admin_client
):
    logins_before = len(oauth2_relay.handler.logins)
    connected.refresh_from_db()
    connected.dsn = _with(connected.dsn, CLIENT_SECRET, "typed-by-someone")
    connected.save()
    with pytest.raises(OAuth2TokenError, match="reconnect needed"):
        _send()
    assert len(oauth2_relay.handler.logins) == logins_before  # No stored token sent.


# Tokens of apps (client credentials), in the process and the shared cache


@pytest.fixture
def home_relay(smtp_server_factory, test_ca, trust_test_ca):
    return smtp_server_factory(
        tls=test_ca.server_context, handler_class=TokenRecordingRelay
    )


@pytest.fixture
def app_host(email_host, oauth2_server, home_relay):
    host = email_host("shop", oauth2_server.dsn(home_relay))
    assert _send() == 1
    return host


def test_an_apps_token_does_not_follow_its_host_to_another_relay(
    app_host, oauth2_server, home_relay, other_relay
):
    [token] = home_relay.handler.tokens_seen
    EmailHost.objects.filter(key="shop").update(dsn=oauth2_server.dsn(other_relay))
    assert _send() == 1  # The app's secret is right: a token of its own.
    tokens.forget()  # Another process: only the shared cache is left...
    pool.close_all()  # ...and a new connection that logs in with it.
    assert _send() == 1
    assert len(other_relay.handler.tokens_seen) == 2
    assert token not in other_relay.handler.tokens_seen


def test_an_apps_token_is_not_reused_with_a_new_secret(
    app_host, oauth2_server, other_relay
):
    EmailHost.objects.filter(key="shop").update(
        dsn=oauth2_server.dsn(other_relay, secret="a-guess")
    )
    with pytest.raises(OAuth2TokenError, match="refused to issue an access token"):
        _send()
    assert other_relay.handler.tokens_seen == []


def test_a_destination_shows_no_secret():
    destination = Destination(
        relay="smtp.example.com",
        port=587,
        security="starttls",
        mailbox=MAILBOX,
        token_url="https://login.example.com/token",
        client_id="app",
        client_secret=CLIENT_SECRET,
    )
    assert CLIENT_SECRET not in repr(destination) + destination.digest()
