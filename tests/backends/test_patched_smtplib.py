"""
Projects test their mail code by patching smtplib, as they did with 0.3 and
Django's own backend: ``mock.patch("smtplib.SMTP")``, a fake class of their
own, or a patched method. Every way this package sends must then reach the
patch exactly as Django's backend does, and nothing the real relay.
"""

import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends import smtp

from email_hosts.backends import EmailHostsBackend, get_connection
from email_hosts.models import HostStatus
from email_hosts.outbox import OutboxBackend
from email_hosts.outbox.models import OutboxMessage, Status
from email_hosts.routing import RoutingBackend
from tests.conftest import PASSWORD, USERNAME


pytestmark = pytest.mark.django_db
OURS = "email_hosts.backends.EmailHostsBackend"


def _message(sender="shop@example.com"):
    return EmailMessage("Hi", "Body", sender, ["customer@example.org"])


def _sent_through(mock_smtp):
    """Return the (sender, recipients) of each sendmail() the mock got."""
    return [
        (call.args[0], list(call.args[1]))
        for call in mock_smtp.return_value.sendmail.call_args_list
    ]


@pytest.fixture
def shop(email_host, smtp_server):
    """A stored host whose real relay must receive nothing."""
    email_host("shop", smtp_server.dsn(), default_from="Shop <shop@example.com>")
    return smtp_server


@mock.patch("smtplib.SMTP")
def test_get_connection_sends_to_a_patched_smtp(mock_smtp, shop):
    assert get_connection("shop").send_messages([_message()]) == 1
    mock_smtp.assert_called_once_with(
        "127.0.0.1", shop.port, local_hostname=mock.ANY, timeout=5
    )
    mock_smtp.return_value.login.assert_called_once_with(USERNAME, PASSWORD)
    assert _sent_through(mock_smtp) == [("shop@example.com", ["customer@example.org"])]
    assert shop.connections == 0


@mock.patch("smtplib.SMTP_SSL")
def test_an_implicit_tls_host_sends_to_a_patched_smtp_ssl(mock_smtp_ssl, settings):
    settings.EMAIL_HOSTS = {"shop": "smtp://u:p@smtp.example.com?ssl"}
    assert get_connection("shop").send_messages([_message()]) == 1
    mock_smtp_ssl.assert_called_once_with(
        "smtp.example.com", 465, local_hostname=mock.ANY, timeout=10, context=mock.ANY
    )
    assert len(_sent_through(mock_smtp_ssl)) == 1


@mock.patch("smtplib.SMTP")
def test_the_030_backend_with_a_default_sender_sends_to_the_mock(mock_smtp, settings):
    # Django 6.1 wants an alias; before it, 0.3's way is without one.
    alias = {"alias": "custom"} if hasattr(mail, "mailers") else {}
    backend = EmailHostsBackend(
        host="smtp.example.com",
        port=2525,
        default_from_email="shop@example.com",
        **alias,
    )
    backend.send_messages([EmailMessage("Hi", "Body", to=["customer@example.org"])])
    assert mock_smtp.call_args.args == ("smtp.example.com", 2525)
    assert _sent_through(mock_smtp) == [("shop@example.com", ["customer@example.org"])]


@mock.patch("smtplib.SMTP")
def test_the_default_mailer_sends_to_the_mock(mock_smtp, settings):
    if hasattr(mail, "mailers"):
        settings.MAILERS = {
            "default": {"BACKEND": OURS, "OPTIONS": {"host": "smtp.example.com"}}
        }
    else:
        settings.EMAIL_BACKEND = OURS
        settings.EMAIL_HOST = "smtp.example.com"
    send_mail("Hi", "Body", "shop@example.com", ["customer@example.org"])
    # Django's own arguments: a MAILERS entry without a timeout has none.
    mock_smtp.assert_called_once_with("smtp.example.com", 25, local_hostname=mock.ANY)
    assert len(_sent_through(mock_smtp)) == 1


@mock.patch("smtplib.SMTP")
def test_routing_backend_sends_to_the_mock(mock_smtp, shop):
    assert RoutingBackend().send_messages([_message()]) == 1
    assert _sent_through(mock_smtp) == [("shop@example.com", ["customer@example.org"])]
    assert shop.connections == 0


@pytest.mark.django_db(transaction=True)
@mock.patch("smtplib.SMTP")
def test_the_outbox_worker_sends_to_the_mock(mock_smtp, shop):
    assert OutboxBackend(host="shop").send_messages([_message()]) == 1
    [row] = OutboxMessage.objects.all()
    assert (row.status, row.sent_through) == (Status.SENT, "shop")
    assert _sent_through(mock_smtp) == [("shop@example.com", ["customer@example.org"])]
    assert shop.connections == 0


@mock.patch("smtplib.SMTP")
def test_check_connection_opens_the_mock(mock_smtp, shop, press_button):
    from email_hosts.models import EmailHost  # noqa: PLC0415

    [message] = press_button(EmailHost.objects.get(key="shop"))
    assert message == "Email host 'shop': the connection works."
    mock_smtp.return_value.login.assert_called_once_with(USERNAME, PASSWORD)
    assert HostStatus.objects.get(key="shop").ok
    assert shop.connections == 0


class FakeSMTP:
    """A fake as projects write them: it records what it is given."""

    sent = []

    def __init__(self, host, port, **options):
        self.host, self.port = host, port

    def starttls(self, **options):
        pass

    def login(self, user, password):
        self.login_as = user

    def sendmail(self, from_addr, to_addrs, msg):
        FakeSMTP.sent.append((from_addr, list(to_addrs), msg))
        return {}

    def quit(self):
        pass

    def close(self):
        pass


def test_a_fake_class_in_place_of_smtplib_smtp_gets_the_message(monkeypatch, shop):
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(FakeSMTP, "sent", [])
    get_connection("shop").send_messages([_message()])
    [(sender, recipients, body)] = FakeSMTP.sent
    assert (sender, recipients) == ("shop@example.com", ["customer@example.org"])
    assert b"Subject: Hi" in body
    assert shop.connections == 0


def test_patched_methods_of_smtplib_smtp_get_the_calls(shop):
    with (
        mock.patch("smtplib.SMTP.connect", return_value=(220, b"")) as connect,
        mock.patch("smtplib.SMTP.login") as login,
        mock.patch("smtplib.SMTP.sendmail", return_value={}) as sendmail,
        mock.patch("smtplib.SMTP.quit"),
    ):
        assert get_connection("shop").send_messages([_message()]) == 1
    connect.assert_called_once_with("127.0.0.1", shop.port)
    login.assert_called_once_with(USERNAME, PASSWORD)
    assert sendmail.call_args.args[:2] == ("shop@example.com", ["customer@example.org"])
    assert shop.connections == 0


@mock.patch("smtplib.SMTP")
def test_an_oauth2_host_sends_to_the_mock_without_a_token_or_its_secret(
    mock_smtp, settings
):
    # The token endpoint is a closed port: asking it would fail the send.
    settings.EMAIL_HOSTS = {
        "shop": "submission://mailbox%40example.com:client-secret@smtp.example.com"
        "?oauth2=client_credentials&client_id=app"
        "&token_url=http%3A%2F%2F127.0.0.1%3A9%2Ftoken"
    }
    assert get_connection("shop").send_messages([_message()]) == 1
    mock_smtp.return_value.login.assert_not_called()
    assert len(_sent_through(mock_smtp)) == 1


def test_with_a_method_patched_an_oauth2_host_sends_the_relay_no_secret(
    email_host, starttls_server, trust_test_ca
):
    email_host(
        "shop",
        starttls_server.dsn(
            "submission",
            password="client-secret",
            query="oauth2=client_credentials&client_id=app"
            "&token_url=http%3A%2F%2F127.0.0.1%3A9%2Ftoken",
        ),
    )
    with mock.patch("smtplib.SMTP.sendmail", return_value={}) as sendmail:
        assert get_connection("shop").send_messages([_message()]) == 1
    assert sendmail.call_count == 1
    assert starttls_server.handler.password_logins == []


@pytest.mark.parametrize(
    "patch",
    [
        lambda: mock.patch("django.core.mail.backends.smtp.smtplib"),
        lambda: mock.patch.object(smtp.EmailBackend, "connection_class"),
    ],
    ids=["django's smtplib", "connection_class"],
)
def test_patches_of_djangos_backend_reach_the_patch_too(shop, patch):
    with patch() as patched:
        get_connection("shop").send_messages([_message()])
    assert patched.mock_calls  # Connected, logged in, sent.
    assert shop.connections == 0


def test_a_connection_kept_before_the_patch_never_serves_it(shop):
    first = get_connection("shop")
    first.send_messages([_message()])  # Real, and kept for the next send.
    with mock.patch("smtplib.SMTP") as mock_smtp:
        get_connection("shop").send_messages([_message()])
    assert len(_sent_through(mock_smtp)) == 1
    assert len(shop.envelopes) == 1


def test_after_the_patch_sends_are_real_again(shop):
    with mock.patch("smtplib.SMTP"):
        get_connection("shop").send_messages([_message()])
    get_connection("shop").send_messages([_message()])
    assert len(shop.envelopes) == 1
    assert shop.envelopes[0].authenticated
