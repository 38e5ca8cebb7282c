"""
Every public entry point takes any input and answers with its documented
error, or works: the DSN parser, the sender rules, every OAuth2 parameter,
the admin's form fields, the commands, ``mailers()`` and fixtures loaded
with ``loaddata``. Never a crash (an ``AttributeError`` from deep in the
email package, an ``UnboundLocalError``, a 500), and never the password.
"""

import contextlib
import io
import json
from urllib.parse import quote

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from django.test.utils import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, strategies

import email_hosts
from email_hosts.backends import get_connection
from email_hosts.domains import domain_of
from email_hosts.dsn import oauth2 as oauth2_config
from email_hosts.dsn import parse_dsn
from email_hosts.dsn.oauth2 import check_url
from email_hosts.exceptions import InvalidEmailHost
from email_hosts.models import EmailHost
from email_hosts.senders import validate_sender
from tests.fuzzing import NASTY, fuzz, nasty_text


KEY = "fuzzed"
PASSWORD = "Pw0-fuzz-secret"
FUZZ = fuzz(100, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: For properties of pure functions, which take microseconds an example.
FUZZ_WIDE = fuzz(1000)
#: For properties that load a fixture and render admin pages, an example each.
FUZZ_SLOW = fuzz(40, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: What a database column takes: no NUL (PostgreSQL refuses it in text).
storable = nasty_text(strategies).map(lambda text: text.replace("\x00", ""))
values = nasty_text(strategies)
URLS = [text for text in NASTY if "/" in text]
GOOD = {
    "tenant": "contoso.onmicrosoft.com",
    "authorize_url": "https://login.example.com/authorize",
    "token_url": "https://login.example.com/token",
    "client_id": "app-1",
    "scope": "smtp",
    "sasl": "xoauth2",
}


@strategies.composite
def oauth2_query(draw):
    """
    Return the OAuth2 parameters of a flow, each well-formed or not, so that
    the parser gets as far as the one that is not; now and then one more.
    """
    flow = draw(strategies.sampled_from(list(oauth2_config.FLOWS)) | values)
    spec = oauth2_config.FLOWS.get(flow)
    query = {"oauth2": flow}
    for name in oauth2_config.PARAMETERS[1:]:
        needed = spec is not None and name in spec.required
        if not needed and draw(strategies.integers(0, 3)):
            continue
        if name.endswith("_url"):
            query[name] = draw(strategies.sampled_from([GOOD[name], *URLS]) | values)
        else:
            query[name] = draw(strategies.just(GOOD[name]) | values)
    return query


dsns = (
    strategies.builds(
        "{}://{}{}?{}".format,
        strategies.sampled_from(["submission", "smtp", "console"]),
        strategies.sampled_from(["", f"mailbox%40example.com:{PASSWORD}@"]),
        strategies.sampled_from(["smtp.example.com", "127.0.0.1", "[::1]", "[abc"])
        | values,
        oauth2_query().map(
            lambda query: "&".join(
                f"{name}={quote(value, safe='')}" for name, value in query.items()
            )
        ),
    )
    | values
)


def test_an_unclosed_ipv6_bracket_in_a_token_url_is_a_dsn_error():
    dsn = (
        f"submission://mailbox%40example.com:{PASSWORD}@smtp.example.com"
        "?oauth2=client_credentials&client_id=app&token_url=https%3A%2F%2F%5Babc"
    )
    with pytest.raises(ValidationError) as caught:
        parse_dsn(dsn)
    assert caught.value.code == "dsn_oauth2_token_url"


@pytest.mark.parametrize(
    "url", ["https://[abc", "https://h:99999/", "https://exa mple.com/", "http://[::1"]
)
def test_check_url_refuses_a_url_that_does_not_parse(url):
    with pytest.raises(ValidationError):
        check_url(url, "dsn_oauth2_authorize_url")


@pytest.mark.parametrize(
    "sender", ["a@[", 'Z@[=;Z-Z")', "g: a@example.com;https://[abc"]
)
def test_a_sender_that_breaks_the_email_package_is_refused(sender):
    with pytest.raises(ValidationError):
        validate_sender(sender)
    assert domain_of(sender) is None


def test_the_admin_refuses_such_a_sender_without_a_500(add_form_errors):
    errors = add_form_errors(kind="console", security="none", default_from="a@[")
    assert list(errors) == ["default_from"]


def test_a_pasted_dsn_with_such_a_sender_is_refused_without_a_500(add_form_errors):
    errors = add_form_errors(
        kind="console",
        security="none",
        pasted_dsn="console://?_default_from_email=" + quote("a@[", safe=""),
    )
    assert list(errors) == ["pasted_dsn"]


def test_get_connection_names_the_key_of_such_a_sender(settings, db):
    settings.EMAIL_HOSTS = {"shop": "console://?_default_from_email=a%40%5B"}
    with pytest.raises(InvalidEmailHost, match=r"^EMAIL_HOSTS\['shop'\]: "):
        get_connection("shop")


def test_check_reports_such_a_token_url_as_e001(settings):
    settings.EMAIL_HOSTS = {
        "shop": f"submission://m%40example.com:{PASSWORD}@smtp.example.com"
        "?oauth2=client_credentials&client_id=app&token_url=https%3A%2F%2F%5Babc"
    }
    messages = [m for m in checks.run_checks() if m.id.startswith("email_hosts.")]
    assert [m.id for m in messages] == ["email_hosts.E001"]
    assert PASSWORD not in messages[0].msg


# Properties


@FUZZ_WIDE
@given(dsn=dsns)
def test_the_dsn_parser_raises_only_validation_errors(dsn):
    try:
        parse_dsn(dsn)
    except ValidationError as exc:
        assert PASSWORD not in str(exc.messages)


@FUZZ_WIDE
@given(query=oauth2_query())
def test_every_oauth2_parameter_is_checked_or_refused(query):
    try:
        login = oauth2_config.parse(query, username="m@example.com", password="x")
    except ValidationError:
        return
    if login is not None:
        check_url(login.token_url, "dsn_oauth2_token_url")
        assert login.token_host


@FUZZ_WIDE
@given(sender=values)
def test_the_sender_rules_raise_only_validation_errors(sender):
    domain_of(sender)  # A domain, or None (a@[127.0.0.1] has none): no error.
    try:
        validate_sender(sender)
    except ValidationError:
        return
    EmailMessage("Hi", "x", sender, ["to@example.org"]).message().as_bytes()


@FUZZ_WIDE
@given(dsn=dsns)
def test_mailers_raises_only_invalid_email_host(dsn):
    try:
        email_hosts.mailers({KEY: dsn})
    except InvalidEmailHost as exc:
        assert str(exc).startswith(f"EMAIL_HOSTS['{KEY}']: ")
        assert PASSWORD not in str(exc)


@FUZZ
@given(dsn=dsns)
def test_the_checks_and_commands_report_a_setting_without_crashing(db, dsn):
    with override_settings(EMAIL_HOSTS={KEY: dsn}):
        messages = checks.run_checks()
        assert PASSWORD not in " ".join(m.msg for m in messages)
        output = io.StringIO()
        call_command("listemailhosts", stdout=output)
        with contextlib.suppress(CommandError):  # Its error for a bad DSN.
            call_command("importemailhosts", "--dry-run", stdout=output)
        assert PASSWORD not in output.getvalue()


#: Every text field of the admin's host form.
ADMIN_TEXT_FIELDS = (
    "host",
    "port",
    "username",
    "password",
    "timeout",
    "tenant",
    "client_id",
    "authorize_url",
    "token_url",
    "scope",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "default_from",
    "sender_domains",
    "backups",
    "pasted_dsn",
)
#: What a browser, or anyone, may post: NUL bytes included.
ADMIN_FIELDS = dict.fromkeys(ADMIN_TEXT_FIELDS, values) | {"pasted_dsn": dsns}


@pytest.mark.parametrize("field", ADMIN_TEXT_FIELDS)
def test_a_nul_byte_in_any_field_is_an_error_not_a_500(add_form_errors, field):
    valid = {
        "kind": "submission",
        "host": "smtp.example.com",
        "security": "starttls",
        "username": "u",
        "password": "p",
    }
    assert add_form_errors(**valid | {field: "a\x00b"})  # Never saved.


@FUZZ
@given(
    fields=strategies.fixed_dictionaries(
        {
            "kind": strategies.sampled_from(["submission", "smtp", "console", "x"]),
            "security": strategies.sampled_from(["starttls", "ssl", "none"]),
            "login": strategies.sampled_from(
                ["password", *oauth2_config.FLOWS, "other"]
            ),
            "sasl": strategies.sampled_from([*oauth2_config.MECHANISMS, "x"]),
        },
        optional=ADMIN_FIELDS,
    )
)
def test_the_admin_form_answers_every_input_without_a_500(admin_client, fields):
    response = admin_client.post(
        reverse("admin:email_hosts_emailhost_add"), {"key": KEY} | fields
    )
    assert response.status_code in {200, 302}
    assert PASSWORD not in response.content.decode()
    EmailHost.objects.filter(key=KEY).delete()


#: The timestamps that dumpdata writes, which loaddata does not fill in.
STAMPS = {"created_at": "2026-12-01T08:00:00Z", "updated_at": "2026-12-01T08:00:00Z"}


@FUZZ_SLOW
@given(
    fields=strategies.fixed_dictionaries(
        {"dsn": dsns.map(lambda dsn: dsn.replace("\x00", ""))},
        optional={
            "default_from": storable,
            "sender_domains": storable,
            "backups": storable,
        },
    )
)
def test_a_fixture_loads_and_then_works_or_names_the_key(
    admin_client, tmp_path, fields
):
    path = tmp_path / "hosts.json"
    path.write_text(
        json.dumps(
            [
                {
                    "model": "email_hosts.emailhost",
                    "fields": {"key": KEY} | STAMPS | fields,
                }
            ]
        )
    )
    call_command("loaddata", str(path), verbosity=0)
    try:
        get_connection(KEY, fallback=False)
    except ImproperlyConfigured as exc:
        assert str(exc).startswith(f"EmailHost['{KEY}']: ")
        assert PASSWORD not in str(exc)
    call_command("listemailhosts", stdout=io.StringIO())
    changelist = admin_client.get(reverse("admin:email_hosts_emailhost_changelist"))
    assert changelist.status_code == 200
    change = admin_client.get(
        reverse(
            "admin:email_hosts_emailhost_change",
            args=[EmailHost.objects.get(key=KEY).pk],
        )
    )
    assert change.status_code == 200
    assert PASSWORD not in changelist.content.decode() + change.content.decode()
    EmailHost.objects.filter(key=KEY).delete()
