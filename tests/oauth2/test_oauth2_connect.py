"""
Accounts connected with consent: an administrator clicks Connect account,
consents on a real OAuth2 server (django-oauth-toolkit, authorization code
with PKCE, rotating refresh tokens), and the host sends with the tokens,
refreshing them without anyone noticing.
"""

import datetime
import sys
import threading
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.debug import ExceptionReporter

from email_hosts.backends import get_connection
from email_hosts.exceptions import OAuth2TokenError
from email_hosts.models import ConnectedAccount
from email_hosts.oauth2 import accounts, tokens
from email_hosts.oauth2.binding import Destination
from tests.conftest import thread_connections_collected
from tests.oauth2_relay import CLIENT_SECRET, MAILBOX, give_consent


pytestmark = pytest.mark.django_db(transaction=True)


def _send(key="shop"):
    message = EmailMessage("Hello", "Body", "shop@example.com", ["to@example.org"])
    return get_connection(key, fallback=False).send_messages([message])


@pytest.fixture
def host(email_host, oauth2_server, oauth2_relay):
    return email_host("shop", oauth2_server.delegated_dsn(oauth2_relay))


@pytest.fixture
def connected(host, admin_client):
    page = give_consent(admin_client, host)
    assert "the account is connected" in page.content.decode()
    return ConnectedAccount.objects.get(host=host)


def _expire_access_token():
    """Let the stored access token run out, as an hour does."""
    ConnectedAccount.objects.update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    tokens.forget()


def _raw_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, access_token FROM email_hosts_connectedaccount"
        )
        return [bytes(value) for value in cursor.fetchone()]


def test_an_administrator_connects_an_account_and_the_host_sends_with_it(
    connected, oauth2_server, oauth2_relay
):
    [refresh_token] = oauth2_server.refresh_tokens()
    assert connected.refresh_token == refresh_token.token
    assert connected.connected_by == "admin"
    # Stored encrypted, like the DSN.
    assert not [
        raw
        for raw in _raw_columns()
        if refresh_token.token.encode() in raw or connected.access_token.encode() in raw
    ]
    assert _send() == 1
    assert oauth2_relay.handler.logins == [("XOAUTH2", MAILBOX, True)]


def test_the_connect_page_asks_with_pkce_and_the_scope(host, admin_client):
    answer = admin_client.post(
        reverse("admin:email_hosts_emailhost_connect_account", args=[host.pk])
    )
    location = answer["Location"]
    assert "/o/authorize/" in location
    assert "code_challenge_method=S256" in location
    assert "code_challenge=" in location
    assert "scope=smtp" in location


def test_an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept(
    connected, oauth2_server, oauth2_relay
):
    first = connected.refresh_token
    _expire_access_token()
    assert _send() == 1
    [current] = oauth2_server.refresh_tokens()
    account = ConnectedAccount.objects.get()
    assert current.token != first  # The server rotated it...
    assert account.refresh_token == current.token  # ...and the host kept the new one.
    assert oauth2_relay.handler.logins[-1] == ("XOAUTH2", MAILBOX, True)


def test_one_refresh_serves_every_send_until_the_token_runs_out(
    connected, oauth2_server
):
    _expire_access_token()
    for _ in range(3):
        assert _send() == 1
    tokens.forget()  # Another process: it reads the token the row holds.
    assert _send() == 1
    # The consent's refresh token, and the one a single refresh rotated in.
    assert oauth2_server.delegated_application.refreshtoken_set.count() == 2


@pytest.mark.skipif(
    "connection.vendor == 'sqlite'",
    reason="On SQLite a refresh joins the caller's transaction (docs/oauth2.rst).",
)
def test_a_refresh_inside_a_rolled_back_transaction_keeps_the_new_refresh_token(
    connected, oauth2_server
):
    _expire_access_token()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert _send() == 1
        1 / 0  # noqa: B018 -- the caller's transaction fails after sending
    [current] = oauth2_server.refresh_tokens()
    assert ConnectedAccount.objects.get().refresh_token == current.token
    _expire_access_token()
    assert _send() == 1  # The kept refresh token still works.


@pytest.mark.skipif(
    "not connection.features.has_select_for_update",
    reason="SQLite's in-memory test database cannot make one writer wait for"
    " another; its file databases serialize writers by themselves.",
)
def test_processes_refreshing_at_once_refresh_once_and_keep_the_newest_token(
    connected, oauth2_server
):
    _expire_access_token()
    transport = _transport_of("shop")
    got, start = [], threading.Barrier(2)

    def refresh():
        start.wait()
        try:
            got.append(
                accounts.access_token(
                    "shop",
                    transport.oauth2,
                    destination=Destination.of(transport),
                    timeout=5,
                )
            )
        finally:
            connection.close()

    workers = [threading.Thread(target=refresh) for _ in range(2)]
    refreshes = oauth2_server.delegated_application.refreshtoken_set
    for worker in workers:
        # As two processes: each its own DB connection, no shared memory.
        worker.start()
        tokens.forget()
    for worker in workers:
        worker.join()
    assert len(got) == 2
    assert got[0].value == got[1].value
    assert refreshes.count() == 2  # The consent's, and one refresh's.
    [current] = oauth2_server.refresh_tokens()
    assert ConnectedAccount.objects.get().refresh_token == current.token


def _transport_of(key):
    from email_hosts import hosts  # noqa: PLC0415

    return hosts.from_database(key).transport


def test_a_revoked_refresh_token_marks_the_host_reconnect_needed(
    connected, oauth2_server, admin_client
):
    oauth2_server.delegated_application.refreshtoken_set.all().delete()
    _expire_access_token()
    with pytest.raises(OAuth2TokenError) as raised:
        _send()
    message = str(raised.value)
    assert message.startswith("Email host 'shop': reconnect needed:")
    assert "invalid_grant" in message
    assert "The refresh token was revoked or has expired" in message
    assert "Connect account again" in message
    assert ConnectedAccount.objects.get().reconnect_reason
    # Until someone reconnects, no further refresh is tried.
    tokens.forget()
    with pytest.raises(OAuth2TokenError, match="reconnect needed"):
        _send()
    changelist = admin_client.get(reverse("admin:email_hosts_emailhost_changelist"))
    assert "Reconnect needed" in changelist.content.decode()
    change = admin_client.get(
        reverse("admin:email_hosts_emailhost_change", args=[connected.host_id])
    )
    assert "Reconnect needed: " in change.content.decode()
    # Connecting again makes it work.
    give_consent(admin_client, connected.host)
    assert _send() == 1


def test_a_host_never_connected_says_what_to_do(host, admin_client):
    with pytest.raises(OAuth2TokenError) as raised:
        _send()
    assert str(raised.value) == (
        "Email host 'shop': no account is connected to this host yet: open it in"
        " the admin and click Connect account."
    )
    changelist = admin_client.get(reverse("admin:email_hosts_emailhost_changelist"))
    assert "Not connected" in changelist.content.decode()


def test_a_refused_consent_says_so_and_stores_nothing(host, admin_client):
    page = give_consent(admin_client, host, allow=False)
    assert "did not connect the account (access_denied" in page.content.decode()
    assert not ConnectedAccount.objects.exists()


def test_an_answer_no_one_here_asked_for_is_ignored(host, admin_client):
    page = admin_client.get(
        reverse("admin:email_hosts_emailhost_connected"),
        {"code": "forged", "state": "forged"},
        follow=True,
    )
    assert "matches no Connect account clicked in this browser" in (
        page.content.decode()
    )
    assert not ConnectedAccount.objects.exists()


def test_connecting_needs_the_change_permission(host, client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    client.force_login(viewer)
    answer = client.post(
        reverse("admin:email_hosts_emailhost_connect_account", args=[host.pk])
    )
    assert answer.status_code in (302, 403)
    assert "/o/authorize/" not in answer.get("Location", "")


@pytest.mark.parametrize("debug", [True, False])
def test_no_token_reaches_a_page_the_history_or_an_error_report(
    connected, oauth2_server, admin_client, settings, debug
):
    settings.DEBUG = debug
    change = admin_client.get(
        reverse("admin:email_hosts_emailhost_change", args=[connected.host_id])
    ).content.decode()
    assert "Connected by admin" in change
    history = " ".join(str(entry) for entry in LogEntry.objects.all())
    assert "Connected an OAuth2 account." in history
    oauth2_server.delegated_application.refreshtoken_set.all().delete()
    _expire_access_token()
    try:
        _send()
    except OAuth2TokenError:
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    assert "invalid_grant" in report
    # Named only now, so that the report's frame of this test holds none.
    for secret in (CLIENT_SECRET, connected.refresh_token, connected.access_token):
        assert secret not in change
        assert secret not in history
        assert secret not in report


def test_a_host_from_settings_cannot_hold_a_connected_account(
    oauth2_server, oauth2_relay, settings
):
    settings.EMAIL_HOSTS = {"shop": oauth2_server.delegated_dsn(oauth2_relay)}
    with pytest.raises(OAuth2TokenError) as raised:
        _send()
    assert "store it in the database" in str(raised.value)


def test_the_account_goes_with_its_host(connected):
    connected.host.delete()
    assert not ConnectedAccount.objects.exists()


def test_the_commands_show_the_token_state_without_secrets(connected, oauth2_server):
    listed = StringIO()
    call_command("listemailhosts", stdout=listed)
    assert "OAuth2 XOAUTH2 (localhost, connected account)" in listed.getvalue()
    assert "Connected by admin on " in listed.getvalue()
    assert "more minutes." in listed.getvalue()
    checked = StringIO()
    with thread_connections_collected():
        call_command("sendtestemailhosts", "--check", "shop", stdout=checked)
    assert f"It logged in as {MAILBOX} with an OAuth2 token from localhost" in (
        checked.getvalue()
    )
    for output in (listed.getvalue(), checked.getvalue()):
        assert CLIENT_SECRET not in output
        assert connected.refresh_token not in output
        assert connected.access_token not in output


def test_listing_a_client_credentials_host_shows_its_shared_token(
    email_host, oauth2_server, oauth2_relay
):
    email_host("shop", oauth2_server.dsn(oauth2_relay))
    listed = StringIO()
    call_command("listemailhosts", stdout=listed)
    assert "No access token yet: the next send gets one." in listed.getvalue()
    assert _send() == 1
    listed = StringIO()
    call_command("listemailhosts", stdout=listed)
    assert "An access token from localhost, valid for 60 more minutes." in (
        listed.getvalue()
    )


@pytest.mark.skipif(
    "connection.vendor == 'sqlite'",
    reason="On SQLite a refresh joins the caller's transaction (docs/oauth2.rst).",
)
def test_a_refresh_on_a_thread_of_its_own_leaks_nothing_either(
    connected, oauth2_server
):
    oauth2_server.delegated_application.refreshtoken_set.all().delete()
    _expire_access_token()
    try:
        with transaction.atomic():
            _send()
    except OAuth2TokenError:
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    assert "email-hosts-refresh" in report or "_under_lock" in report
    assert "reconnect needed" in report
    for secret in (CLIENT_SECRET, connected.refresh_token, connected.access_token):
        assert secret not in report


@pytest.mark.parametrize(
    ("description", "hint"),
    [
        ("AADSTS700082: The refresh token has expired due to inactivity.", "90 days"),
        (
            "AADSTS70008: The provided grant has expired.",
            "The refresh token has expired.",
        ),
        (
            "AADSTS50173: The provided grant has expired due to it being revoked.",
            "password",
        ),
    ],
)
def test_microsofts_refresh_errors_get_their_own_hint(description, hint):
    from email_hosts.dsn import oauth2 as config  # noqa: PLC0415
    from email_hosts.oauth2 import hints  # noqa: PLC0415

    oauth2 = config.parse(
        {"oauth2": "microsoft_delegated", "tenant": "contoso.com", "client_id": "a"},
        username="mailbox@example.com",
        password="secret",
    )
    reason = hints.refused(oauth2, "invalid_grant", description, grant="refresh_token")
    _, after_the_providers_words = reason.rsplit("). ", 1)
    assert hint in after_the_providers_words


def test_an_access_token_revoked_early_is_replaced_once_before_any_mail(
    connected, oauth2_server, oauth2_relay
):
    # Refused by the server long before the host expects it to expire, as
    # after a change of the tenant's policy.
    oauth2_server.delegated_application.accesstoken_set.update(
        expires=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert _send() == 1
    assert [accepted for _, _, accepted in oauth2_relay.handler.logins] == [
        False,
        True,
    ]
    assert len(oauth2_relay.envelopes) == 1
    [current] = oauth2_server.refresh_tokens()
    assert ConnectedAccount.objects.get().refresh_token == current.token
