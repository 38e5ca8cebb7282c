"""get_connection(key): the database first, then the settings, then Django."""

import importlib
import logging

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import (
    CaptureQueriesContext,
    modify_settings,
    override_settings,
)

from email_hosts import hosts
from email_hosts.backends import EmailHostsBackend, get_connection
from email_hosts.exceptions import (
    EmailHostDoesNotExist,
    EmailHostUndecryptable,
    InvalidEmailHost,
)
from email_hosts.models import EmailHost


DB_DSN = "submission://db-user:db-pass@db.example.com:2525?timeout=7"
SETTINGS_DSN = "smtp://settings-user:settings-pass@settings.example.com:25"


def _reached(backend):
    return (backend.host, backend.port, backend.username)


@override_settings(EMAIL_HOSTS={"shop": SETTINGS_DSN})
def test_db_row_wins_over_setting(email_host):
    email_host("shop", DB_DSN)
    assert _reached(get_connection("shop")) == ("db.example.com", 2525, "db-user")


@override_settings(EMAIL_HOSTS={"shop": SETTINGS_DSN})
def test_setting_serves_a_key_without_row(db):
    assert _reached(get_connection("shop")) == (
        "settings.example.com",
        25,
        "settings-user",
    )


def test_db_row_builds_a_ready_backend(email_host):
    email_host("shop", DB_DSN, default_from="Shop <shop@example.com>")
    backend = get_connection("shop")
    assert isinstance(backend, EmailHostsBackend)
    assert (backend.password, backend.use_tls, backend.use_ssl) == (
        "db-pass",
        True,
        False,
    )
    assert (backend.timeout, backend.default_from_email) == (
        7,
        "Shop <shop@example.com>",
    )
    assert backend.alias == "shop"


@override_settings(
    EMAIL_HOSTS={
        "shop": "submission://user:pass@smtp.example.com?timeout=7"
        "&ssl_cafile=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem"
    },
    INSTALLED_APPS=[],
)
def test_a_resolved_backend_is_what_the_constructor_builds():
    # for_host() skips the constructor; the backend must not notice.
    transport = hosts.from_settings("shop").transport
    built = EmailHostsBackend(
        alias="shop",
        default_from_email=transport.default_from_email,
        **transport.smtp_options(default_timeout=10),
    )
    resolved = EmailHostsBackend.for_host(hosts.from_settings("shop"))

    def state(backend):
        return {name: value for name, value in vars(backend).items() if name != "_lock"}

    assert state(resolved) == state(built)
    assert state(resolved)["ssl_cafile"] == "/ca.pem"


def test_db_row_resolves_with_one_query(email_host):
    email_host("shop", DB_DSN)
    with CaptureQueriesContext(connection) as queries:
        get_connection("shop")
    assert len(queries) == 1


def test_edit_is_seen_by_the_next_call(email_host):
    host = email_host("shop", DB_DSN)
    get_connection("shop")
    host.dsn = "smtp://edited.example.com:26"
    host.save()
    assert _reached(get_connection("shop")) == ("edited.example.com", 26, "")


@override_settings(EMAIL_HOSTS_DEFAULT_TIMEOUT=3)
def test_host_without_timeout_gets_the_configured_default(email_host):
    email_host("shop", "smtp://smtp.example.com")
    assert get_connection("shop").timeout == 3


def test_default_timeout_is_ten_seconds(email_host):
    email_host("shop", "smtp://smtp.example.com")
    assert get_connection("shop").timeout == 10


def test_a_changed_setting_is_read_again(email_host, settings):
    email_host("shop", "smtp://smtp.example.com")
    assert get_connection("shop").timeout == 10  # Read, and kept.
    settings.EMAIL_HOSTS_DEFAULT_TIMEOUT = 3
    assert get_connection("shop").timeout == 3
    with override_settings(EMAIL_HOSTS_DEFAULT_TIMEOUT=5):
        assert get_connection("shop").timeout == 5
    assert get_connection("shop").timeout == 3


@override_settings(EMAIL_HOSTS_DEFAULT_TIMEOUT=0)
def test_bad_default_timeout_is_a_configuration_error(email_host):
    email_host("shop", "smtp://smtp.example.com")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_HOSTS_DEFAULT_TIMEOUT must"):
        get_connection("shop")


def test_unknown_key_falls_back_to_django_default_with_a_warning(db, caplog):
    with caplog.at_level(logging.WARNING, logger="email_hosts"):
        backend = get_connection("nope")
    assert type(backend).__module__ == "django.core.mail.backends.locmem"
    assert caplog.messages == [
        (
            "No email host 'nope' in the database or the settings; sending with"
            " Django's default backend instead."
        )
    ]


def test_unknown_key_without_fallback_raises(db):
    with pytest.raises(EmailHostDoesNotExist) as excinfo:
        get_connection("nope", fallback=False)
    assert isinstance(excinfo.value, KeyError)
    assert isinstance(excinfo.value, ImproperlyConfigured)
    assert str(excinfo.value) == (
        "email_hosts['nope']: No such email host. Add it in the admin or to the"
        " EMAIL_HOSTS setting."
    )


@override_settings(EMAIL_HOSTS={"shop": "smtp://user:hunter2@smtp.example.com:abc"})
def test_bad_setting_names_key_and_problem_without_password(db):
    with pytest.raises(InvalidEmailHost) as excinfo:
        get_connection("shop")
    assert str(excinfo.value) == "EMAIL_HOSTS['shop']: Port 'abc' is not a number."


def test_bad_stored_dsn_names_key_and_problem(email_host):
    EmailHost.objects.bulk_create([EmailHost(key="shop", dsn="smtp://x?timout=5")])
    with pytest.raises(InvalidEmailHost, match=r"^EmailHost\['shop'\]: Unknown query"):
        get_connection("shop")


def test_undecryptable_row_names_key_and_fernet_keys(email_host, settings):
    email_host("shop", DB_DSN)
    get_connection("shop")  # Resolved once, and kept.
    settings.FERNET_KEYS = ["not-the-key-it-was-encrypted-with"]
    with pytest.raises(EmailHostUndecryptable) as excinfo:
        get_connection("shop")
    assert isinstance(excinfo.value, ImproperlyConfigured)
    assert str(excinfo.value).startswith("EmailHost['shop']: The stored DSN cannot")
    assert "FERNET_KEYS" in str(excinfo.value)


def test_named_host_never_inherits_global_email_settings(email_host):
    email_host("bare", "smtp://bare.example.com")
    if hasattr(mail, "mailers"):
        # Django 6.1 forbids the global settings beside MAILERS, so they
        # cannot leak at all; check that none was read.
        backend = get_connection("bare")
    else:
        with override_settings(
            EMAIL_HOST="global.example.com",
            EMAIL_HOST_USER="global-user",
            EMAIL_HOST_PASSWORD="global-pass",
            EMAIL_SSL_CERTFILE="/global/cert.pem",
        ):
            backend = get_connection("bare")
    assert (backend.host, backend.username, backend.password) == (
        "bare.example.com",
        "",
        "",
    )
    assert (backend.ssl_certfile, backend.ssl_keyfile) == ("", "")


@pytest.mark.parametrize(
    ("dsn", "module"),
    [
        ("console://", "console"),
        ("locmem://", "locmem"),
        ("dummy://", "dummy"),
    ],
)
def test_local_schemes_give_djangos_local_backends(email_host, dsn, module):
    email_host("dev", dsn)
    backend = get_connection("dev")
    django_backend = importlib.import_module(f"django.core.mail.backends.{module}")
    assert isinstance(backend, django_backend.EmailBackend)


def test_without_the_app_installed_no_stored_host_is_asked_for(db):
    with (
        modify_settings(INSTALLED_APPS={"remove": ["email_hosts"]}),
        CaptureQueriesContext(connection) as queries,
    ):
        assert hosts.from_database("shop") is None
    assert len(queries) == 0
