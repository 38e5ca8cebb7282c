"""Django 6.1 MAILERS: EmailHostsBackend entries ask the database first."""

import asyncio

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

import email_hosts
from email_hosts.backends import get_connection
from email_hosts.exceptions import InvalidEmailHost
from email_hosts.models import EmailHost


requires_mailers = pytest.mark.skipif(
    not hasattr(mail, "mailers"), reason="MAILERS arrived in Django 6.1"
)
LOCMEM = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
OURS = "email_hosts.backends.EmailHostsBackend"


def _send_through(backend):
    return backend.send_messages([EmailMessage("Hi", "x", to=["to@example.org"])])


def _send_using(alias):
    return EmailMessage("Hi", "Hello", to=["to@example.org"]).send(using=alias)


def test_mailers_builds_entries_from_email_hosts():
    entries = email_hosts.mailers(
        {
            "shop": "submission://u:p%40ss@smtp.example.com?_default_from_email=s@example.com",
            "dev": "console://",
        }
    )
    assert entries == {
        "shop": {
            "BACKEND": OURS,
            "OPTIONS": {
                "host": "smtp.example.com",
                "port": 587,
                "username": "u",
                "password": "p@ss",
                "use_tls": True,
                "use_ssl": False,
                "timeout": None,
                "default_from_email": "s@example.com",
            },
        },
        "dev": {"BACKEND": "email_hosts.backends._ConsoleBackend", "OPTIONS": {}},
    }


def test_mailers_refuses_a_bad_dsn_naming_the_key():
    with pytest.raises(InvalidEmailHost) as excinfo:
        email_hosts.mailers({"shop": "smtp://user:hunter2@smtp.example.com?timout=5"})
    assert str(excinfo.value) == (
        "EMAIL_HOSTS['shop']: Unknown query parameter 'timout'. Known parameters"
        " are _backups, _default_from_email, _sender_domains, authorize_url, client_id, oauth2,"
        " sasl, scope, ssl, ssl_cafile, ssl_certfile, ssl_keyfile, tenant,"
        " timeout, tls, token_url."
    )


@requires_mailers
def test_entry_resolves_its_alias_against_the_database_first(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(), default_from="shop@example.com")
    options = {"host": "settings.invalid", "port": 25}
    with override_settings(
        MAILERS={"default": LOCMEM, "shop": {"BACKEND": OURS, "OPTIONS": options}}
    ):
        assert _send_using("shop") == 1
    assert [e.mail_from for e in smtp_server.envelopes] == ["shop@example.com"]


@requires_mailers
def test_entry_without_options_is_served_by_the_row(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    with override_settings(MAILERS={"default": LOCMEM, "shop": {"BACKEND": OURS}}):
        assert _send_using("shop") == 1
    assert len(smtp_server.envelopes) == 1


@requires_mailers
def test_entry_options_serve_while_no_row_exists(db, smtp_server):
    entries = email_hosts.mailers({"shop": smtp_server.dsn()})
    with override_settings(MAILERS={"default": LOCMEM, **entries}):
        assert _send_using("shop") == 1
    assert len(smtp_server.envelopes) == 1


@requires_mailers
def test_entry_without_options_or_row_is_an_invalid_mailer_when_used(db):
    with override_settings(MAILERS={"default": LOCMEM, "shop": {"BACKEND": OURS}}):
        backend = mail.mailers["shop"]
        with pytest.raises(mail.InvalidMailer) as excinfo:
            backend.send_messages([EmailMessage("Hi", "x", to=["to@example.org"])])
    assert str(excinfo.value) == (
        "MAILERS['shop']: OPTIONS must define 'host'. No email host 'shop' is"
        " stored in the database either: add it in the admin, or give OPTIONS"
        " a host."
    )


@requires_mailers
def test_entry_for_a_local_row_is_an_invalid_mailer_when_used(email_host):
    email_host("shop", "console://")
    with (
        override_settings(MAILERS={"default": LOCMEM, "shop": {"BACKEND": OURS}}),
        pytest.raises(mail.InvalidMailer, match=r"uses console://, which"),
    ):
        mail.mailers["shop"].open()


@requires_mailers
@override_settings(MAILERS={"default": LOCMEM, "shop": {"BACKEND": OURS}})
def test_building_an_entry_asks_no_database():
    # No db fixture: any query would fail, as in Django's SimpleTestCase.
    assert mail.mailers["shop"].alias == "shop"


@requires_mailers
@override_settings(MAILERS={"default": LOCMEM, "shop": {"BACKEND": OURS}})
def test_building_an_entry_works_in_an_async_view():
    async def view():
        return mail.mailers["shop"]

    assert asyncio.run(view()).alias == "shop"


@requires_mailers
def test_entry_resolves_a_row_with_one_query_when_it_sends(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    with (
        override_settings(MAILERS={"default": LOCMEM, "shop": {"BACKEND": OURS}}),
        CaptureQueriesContext(connection) as queries,
    ):
        backend = get_connection("shop")
        assert len(queries) == 0
        _send_through(backend)
    table = EmailHost._meta.db_table
    assert len([query for query in queries if table in query["sql"]]) == 1
    assert len(smtp_server.envelopes) == 1


@requires_mailers
def test_get_connection_serves_other_mailers_entries(db):
    with override_settings(MAILERS={"default": LOCMEM, "test": LOCMEM}):
        backend = get_connection("test")
    assert type(backend).__module__ == "django.core.mail.backends.locmem"
    assert backend.alias == "test"


#: Every option, so that building without an alias reads no setting, which
#: Django 6.1 refuses while MAILERS is defined.
EVERY_OPTION = {
    "host": "smtp.example.com",
    "port": 25,
    "username": "",
    "password": "",
    "use_tls": False,
    "use_ssl": False,
    "timeout": 10,
    "ssl_keyfile": "",
    "ssl_certfile": "",
}


@requires_mailers
def test_code_that_builds_the_backend_directly_is_warned():
    from django.utils.deprecation import RemovedInDjango2028Warning  # noqa: PLC0415

    from email_hosts.backends import EmailHostsBackend  # noqa: PLC0415

    with pytest.warns(RemovedInDjango2028Warning, match="Directly creating") as caught:
        EmailHostsBackend(**EVERY_OPTION)
    # Attributed to the code that built it, as Django does for its backend.
    assert {warning.filename for warning in caught} == {__file__}


@requires_mailers
def test_django_building_the_backend_is_no_direct_use(settings):
    from django.utils.deprecation import RemovedInDjango2028Warning  # noqa: PLC0415

    del settings.MAILERS  # A site not moved to MAILERS yet.
    # Django's own deprecated get_connection() warns about itself, not more.
    with pytest.warns(RemovedInDjango2028Warning) as caught:
        mail.get_connection(OURS, **EVERY_OPTION)
    assert [w for w in caught if "Directly creating" in str(w.message)] == []
