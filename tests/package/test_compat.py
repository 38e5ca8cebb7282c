"""What django-email-hosts 0.3 offered keeps working."""

from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from django.test.utils import override_settings
from speckenv_django import django_email_url

from email_hosts.backends import EmailHostsBackend, get_connection, parse_conf


without_mailers = pytest.mark.skipif(
    hasattr(mail, "mailers"),
    reason="Django 6.1 deprecates building a backend without a MAILERS alias",
)


def test_parse_conf_turns_speckenv_settings_into_backend_options():
    config = django_email_url("submission://u:p@smtp.example.com:2525?timeout=5")
    assert parse_conf(config) == {
        "host": "smtp.example.com",
        "port": 2525,
        "username": "u",
        "password": "p",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 5,
    }


@without_mailers
def test_backend_takes_default_from_email_directly(smtp_server):
    options = parse_conf(django_email_url(smtp_server.dsn()))
    backend = EmailHostsBackend(**options, default_from_email="shop@example.com")
    backend.send_messages([EmailMessage("Hi", "Hello", to=["to@example.org"])])
    assert smtp_server.envelopes[0].mail_from == "shop@example.com"


def test_backend_takes_default_from_email_with_an_alias(db, smtp_server):
    options = parse_conf(django_email_url(smtp_server.dsn()))
    backend = EmailHostsBackend(
        alias="shop", **options, default_from_email="s@example.com"
    )
    backend.send_messages([EmailMessage("Hi", "Hello", to=["to@example.org"])])
    assert smtp_server.envelopes[0].mail_from == "s@example.com"


def test_email_hosts_setting_sends(db, smtp_server):
    dsn = smtp_server.dsn(query="_default_from_email=club@example.org")
    with override_settings(EMAIL_HOSTS={"club": dsn}):
        get_connection("club").send_messages(
            [EmailMessage("Hi", "Hello", to=["to@example.org"])]
        )
    assert smtp_server.envelopes[0].mail_from == "club@example.org"


def test_sendtestemailhosts_serves_a_settings_key(db, smtp_server, capsys):
    with override_settings(EMAIL_HOSTS={"club": smtp_server.dsn()}):
        call_command("sendtestemailhosts", "club", "a@example.org", "b@example.org")
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["a@example.org", "b@example.org"]
    sent = message_from_bytes(envelope.original_content, policy=policy.default)
    assert sent.get_content().splitlines() == [
        "If you're reading this, it was successful.",
        "",
        "It was sent through the email host 'club'.",
    ]
    assert sent["Subject"].endswith(" through the email host 'club'")
    assert "Sent 1 test email through 'club'" in capsys.readouterr().out


def test_sendtestemailhosts_serves_a_database_key(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(), default_from="shop@example.com")
    call_command("sendtestemailhosts", "shop", "a@example.org")
    assert smtp_server.envelopes[0].mail_from == "shop@example.com"


def test_sendtestemailhosts_refuses_an_unknown_key(db, capsys):
    with pytest.raises(CommandError, match=r"^1 of 1 host\(s\) failed"):
        call_command("sendtestemailhosts", "nope", "a@example.org")
    assert "FAILED  email_hosts['nope']: No such email host" in capsys.readouterr().out
