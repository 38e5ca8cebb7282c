"""System checks; every ID is documented in docs/checks.rst."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import checks
from django.db import connection
from django.test.utils import override_settings

from email_hosts.models import ConnectedAccount, EmailHost


def _errors():
    return _messages()


@override_settings(EMAIL_HOSTS={"shop": "submission://u:p@smtp.example.com"})
def test_valid_configuration_passes():
    assert _errors() == []


@override_settings(EMAIL_HOSTS={"shop": "smtp://user:hunter2@smtp.example.com:abc"})
def test_e001_names_the_key_and_problem_without_the_password():
    assert _errors() == [
        checks.Error(
            "EMAIL_HOSTS['shop']: Port 'abc' is not a number.",
            hint="Fix the DSN; the configuration docs list what it takes.",
            id="email_hosts.E001",
        )
    ]


@override_settings(EMAIL_HOSTS=["smtp://smtp.example.com"])
def test_e002_email_hosts_must_be_a_dict():
    assert _errors() == [
        checks.Error(
            "EMAIL_HOSTS must be a dict of host keys to DSNs, not list.",
            hint="For example EMAIL_HOSTS = {'shop': 'submission://...'}.",
            id="email_hosts.E002",
        )
    ]


@override_settings(EMAIL_HOSTS_DEFAULT_TIMEOUT="10")
def test_e003_default_timeout_must_be_a_positive_number():
    assert _errors() == [
        checks.Error(
            "EMAIL_HOSTS_DEFAULT_TIMEOUT must be a number of seconds above 0 and"
            " at most 3600, not '10'.",
            hint="Set it to the seconds a host may take, such as 10.",
            id="email_hosts.E003",
        )
    ]


def test_every_check_id_is_documented():
    package = Path(__file__).parents[2] / "email_hosts"
    source = "".join(path.read_text() for path in package.rglob("*.py"))
    docs = (Path(__file__).parents[2] / "docs" / "checks.rst").read_text()
    ids = set(re.findall(r"email_hosts\.[EW]\d{3}", source))
    assert ids
    assert {i for i in ids if i not in docs} == set()


def _messages(*, deploy=False, databases=None):
    return [
        message
        for message in checks.run_checks(
            include_deployment_checks=deploy, databases=databases
        )
        if message.id.startswith("email_hosts.")
    ]


@override_settings(FERNET_KEYS=None, EMAIL_HOSTS_ALLOWED_RELAYS=["*"])
def test_w001_deploy_warns_without_fernet_keys():
    del settings.FERNET_KEYS
    assert _messages(deploy=True) == [
        checks.Warning(
            "Stored email hosts are encrypted with a key derived from SECRET_KEY,"
            " because FERNET_KEYS is not set.",
            hint="Set FERNET_KEYS to keys of their own, so that rotating"
            " SECRET_KEY and rotating these keys are separate decisions. See"
            " 'Rotating keys' in the docs.",
            id="email_hosts.W001",
        )
    ]


OPTIONLESS = {
    "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
    "shop": {"BACKEND": "email_hosts.backends.EmailHostsBackend"},
}


@override_settings(MAILERS=OPTIONLESS)
def test_e004_optionless_mailer_without_its_row(db):
    assert _messages() == [
        checks.Error(
            "MAILERS['shop'] has no OPTIONS and no email host 'shop' is stored in"
            " the database.",
            hint="Add the host in the admin, or give the entry OPTIONS.",
            id="email_hosts.E004",
        )
    ]


@override_settings(MAILERS=OPTIONLESS)
def test_optionless_mailer_with_its_row_passes(email_host):
    email_host("shop", "submission://smtp.example.com")
    assert _messages() == []


def test_e005_stored_host_that_cannot_be_decrypted(email_host):
    email_host("shop", "submission://smtp.example.com")
    with override_settings(FERNET_KEYS=["not-the-key"]):
        [message] = _messages(databases=["default"])
    assert (message.id, message.hint) == (
        "email_hosts.E005",
        "See 'Rotating keys' in the docs.",
    )
    assert message.msg.startswith(
        "EmailHost['shop']: The stored DSN cannot be decrypted"
    )


def test_e006_stored_host_whose_dsn_does_not_parse(db):
    EmailHost.objects.bulk_create([EmailHost(key="shop", dsn="smtp://u:hunter2@x:abc")])
    assert _messages(databases=["default"]) == [
        checks.Error(
            "EmailHost['shop']: Port 'abc' is not a number.",
            hint="Enter the connection again in the admin.",
            id="email_hosts.E006",
        )
    ]


CLEARTEXT = "smtp://user:hunter2@smtp.example.com"


@override_settings(
    EMAIL_HOSTS={"shop": CLEARTEXT, "local": "smtp://u:p@127.0.0.1:25"},
    FERNET_KEYS=["a-key-long-enough-for-the-w005-check"],
    EMAIL_HOSTS_ALLOWED_RELAYS=["*"],
)
def test_w003_deploy_warns_about_a_password_sent_without_tls():
    assert _messages(deploy=True) == [
        checks.Warning(
            "Email host 'shop' (settings) sends its password to smtp.example.com"
            " without TLS.",
            hint="Use submission:// or add ?tls or ?ssl to the DSN.",
            id="email_hosts.W003",
        )
    ]


def test_w003_covers_stored_hosts(email_host):
    email_host("shop", CLEARTEXT)
    [message] = _messages(databases=["default"])
    assert (message.id, message.msg) == (
        "email_hosts.W003",
        "Email host 'shop' (database) sends its password to smtp.example.com without TLS.",
    )


@override_settings(
    EMAIL_HOSTS={
        "m365": "submission://shop%40example.com:pw@smtp.office365.com",
        "gmail": "submission://club%40example.org:pw@SMTP.GMAIL.COM",
        "relay": "submission://mailer@smtp.office365.com",  # No password.
        # The password is the client secret of an OAuth2 login.
        "oauth": "submission://shop%40example.com:client-secret@smtp.office365.com"
        "?oauth2=microsoft&tenant=example.onmicrosoft.com&client_id=app",
        "other": "submission://u:pw@smtp.example.com",
    },
    FERNET_KEYS=["a-key-long-enough-for-the-w005-check"],
    EMAIL_HOSTS_ALLOWED_RELAYS=["*"],
)
def test_w011_deploy_warns_about_passwords_their_provider_is_retiring():
    m365, gmail = _messages(deploy=True)
    assert (m365.id, m365.msg) == (
        "email_hosts.W011",
        "Email host 'm365' (settings) logs in to smtp.office365.com with a password.",
    )
    assert "at the end of December 2026" in m365.hint
    assert (gmail.id, gmail.msg) == (
        "email_hosts.W011",
        "Email host 'gmail' (settings) logs in to smtp.gmail.com with a password.",
    )
    assert "only an app password" in gmail.hint


def test_w011_covers_stored_hosts(email_host):
    email_host("shop", "submission://u:pw@smtp.office365.com")
    [message] = _messages(databases=["default"])
    assert (message.id, message.msg) == (
        "email_hosts.W011",
        "Email host 'shop' (database) logs in to smtp.office365.com with a password.",
    )


@pytest.mark.django_db(transaction=True)
@override_settings(MAILERS=OPTIONLESS)
def test_database_checks_wait_for_migrate_to_create_the_table():
    # The accounts first: MariaDB refuses to drop a table others point to.
    with connection.schema_editor() as editor:
        editor.delete_model(ConnectedAccount)
        editor.delete_model(EmailHost)
    try:
        messages = _messages(databases=["default"])
    finally:
        with connection.schema_editor() as editor:
            editor.create_model(EmailHost)
            editor.create_model(ConnectedAccount)
    # A warning, not E004: migrate runs the checks and would stop at an error.
    assert messages == [
        checks.Warning(
            "MAILERS['shop'] has no OPTIONS, so only the stored host 'shop' can"
            " serve it, and the database cannot be asked whether it exists.",
            hint="Run migrate and check again, or give the entry OPTIONS.",
            id="email_hosts.W002",
        )
    ]


@override_settings(
    EMAIL_HOSTS={
        "shop": "smtp://smtp.example.com?_default_from_email=shop@example.com",
        "club": "smtp://smtp.example.org?_sender_domains=Example.COM&_backups=news",
        "news": "smtp://smtp.example.net?_backups=club&_sender_domains=example.com",
        "lone": "smtp://smtp.example.info?_backups=gone",
    },
    EMAIL_HOSTS_FALLBACK="missing",
)
def test_routing_checks(db):
    assert _messages(databases=["default"]) == [
        checks.Warning(
            "RoutingBackend cannot choose a host for the sender domain"
            " 'example.com': 'club', 'news' claim it explicitly.",
            hint="List the domain in the sender domains of the one host that"
            " should send its mail.",
            id="email_hosts.W007",
        ),
        checks.Warning(
            "The backups of the email hosts go round in a circle: club -> news -> club.",
            hint="Remove one of these backups.",
            id="email_hosts.W008",
        ),
        checks.Warning(
            "Email host 'lone' names the backup 'gone', which does not exist.",
            hint="Add the host, or remove it from the backups.",
            id="email_hosts.W009",
        ),
        checks.Warning(
            "EMAIL_HOSTS_FALLBACK names 'missing', which is no email host.",
            hint="Set it to the key of a stored or EMAIL_HOSTS host, or to None"
            " for Django's default backend.",
            id="email_hosts.W010",
        ),
    ]


def test_a_stored_host_replaces_the_setting_it_overrides_in_routing(email_host):
    with override_settings(
        EMAIL_HOSTS={
            "shop": "smtp://smtp.example.com?_default_from_email=shop@example.com",
            "club": "smtp://smtp.example.org?_sender_domains=example.com",
        }
    ):
        email_host("club", "smtp://smtp.example.org", default_from="club@example.org")
        assert _messages(databases=["default"]) == []


OAUTH2_HOSTS = {
    "m365": "submission://shop%40example.com:client-secret@smtp.office365.com"
    "?oauth2=microsoft&tenant=example.onmicrosoft.com&client_id=app",
    "plain": "submission://u:pw@smtp.example.com",
}
STORED_OAUTH2_HOST = (
    "submission://club%40example.org:secret@smtp.gmail.com"
    "?oauth2=google&client_id=app.apps.googleusercontent.com"
)


@override_settings(EMAIL_HOSTS=OAUTH2_HOSTS)
@pytest.mark.usefixtures("without_oauth_extra")
def test_e020_names_each_oauth2_host_while_the_oauth_extra_is_missing(email_host):
    email_host("club", STORED_OAUTH2_HOST)
    email_host("news", "submission://u:pw@smtp.example.org")
    # Django runs registered checks in no fixed order.
    assert sorted(_messages(databases=["default"]), key=lambda m: m.msg) == [
        checks.Error(
            f"Email host {key!r} ({source}) logs in with OAuth2, but the oauth"
            " extra (Authlib, over requests) is not installed, so it sends nothing.",
            hint='Install it: pip install "django-email-hosts[oauth]".',
            id="email_hosts.E020",
        )
        for key, source in [("club", "database"), ("m365", "settings")]
    ]


@override_settings(EMAIL_HOSTS=OAUTH2_HOSTS)
@pytest.mark.usefixtures("without_oauth_extra")
def test_e020_names_a_settings_host_without_database_checks():
    """Plain ``check`` and ``runserver`` ask no database, yet must say it."""
    assert [(m.id, m.msg.split(" logs in")[0]) for m in _messages()] == [
        ("email_hosts.E020", "Email host 'm365' (settings)")
    ]


@override_settings(EMAIL_HOSTS=OAUTH2_HOSTS)
def test_e020_is_silent_while_the_oauth_extra_is_installed(email_host):
    email_host("club", STORED_OAUTH2_HOST)
    assert _messages(databases=["default"]) == []
