"""
Bad input gets a clear error that names the host and never the password,
never a crash, and never a row that saves and then fails at send time.
"""

import contextlib
import dataclasses
import smtplib
import socket
import string

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMessage
from django.test.utils import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, strategies

from email_hosts import conf
from email_hosts.backends import backend_for, get_connection
from email_hosts.domains import domain_of
from email_hosts.dsn import QUERY_PARAMETERS, parse_dsn
from email_hosts.exceptions import InvalidEmailHost
from email_hosts.hosts import from_settings
from email_hosts.models import EmailHost
from email_hosts.senders import validate_sender
from tests.fuzzing import fuzz


CHANGELIST = reverse("admin:email_hosts_emailhost_changelist")
BROKEN_SENDERS = ["shop@", "<", "Shop <shop@", "@", "a@b@c", '"unclosed@example.com']


@pytest.mark.parametrize("sender", BROKEN_SENDERS)
def test_a_broken_sender_is_a_validation_error(sender):
    with pytest.raises(ValidationError):
        validate_sender(sender)
    assert domain_of(sender) is None


@pytest.mark.parametrize("sender", BROKEN_SENDERS)
def test_the_admin_refuses_a_broken_sender_without_a_500(add_form_errors, sender):
    errors = add_form_errors(kind="console", security="none", default_from=sender)
    assert list(errors) == ["default_from"]


@pytest.mark.parametrize("sender", BROKEN_SENDERS)
def test_a_stored_broken_sender_fails_at_resolve_naming_the_key(db, sender):
    EmailHost.objects.bulk_create(
        [EmailHost(key="shop", dsn="console://", default_from=sender)]
    )
    with pytest.raises(InvalidEmailHost, match=r"^EmailHost\['shop'\]: "):
        get_connection("shop")


@pytest.mark.parametrize(
    "host", ["mail..example.com", ".example.com", f"{'a' * 64}.example.com"]
)
def test_the_admin_refuses_a_host_name_sockets_cannot_use(add_form_errors, host):
    errors = add_form_errors(kind="smtp", security="none", host=host)
    assert list(errors) == ["host"]
    assert "is not a host name" in errors["host"][0]


def test_the_admin_asks_for_the_port_in_its_own_field(add_form_errors):
    errors = add_form_errors(kind="smtp", security="none", host="smtp.example.com:587")
    assert errors["host"][0].startswith("Enter the host name alone")


def test_a_stored_bad_host_name_gives_check_connection_a_reason(press_button, db):
    EmailHost.objects.bulk_create(
        [EmailHost(key="shop", dsn="smtp://mail..example.com")]
    )
    [message] = press_button(EmailHost.objects.get())
    assert message.startswith("EmailHost['shop']: 'mail..example.com' is not a host")


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 10**20, 0, -1])
def test_e003_refuses_a_default_timeout_sockets_cannot_use(settings, timeout):
    settings.EMAIL_HOSTS_DEFAULT_TIMEOUT = timeout
    assert [m.id for m in checks.run_checks() if m.id.startswith("email_hosts")] == [
        "email_hosts.E003"
    ]
    with pytest.raises(ImproperlyConfigured):
        conf.default_timeout()


# EMAIL_HOSTS of the wrong shape


@pytest.mark.parametrize("value", [None, 42, ["smtp://a.example"], "smtp://a.example"])
def test_get_connection_names_a_malformed_email_hosts(db, settings, value):
    settings.EMAIL_HOSTS = value
    with pytest.raises(ImproperlyConfigured, match="EMAIL_HOSTS must be a dict"):
        get_connection("shop")


@pytest.mark.parametrize(
    "value",
    [None, 42, ["smtp://a.example"], "smtp://a.example", {1: "smtp://a.example"}],
)
def test_the_changelist_survives_a_malformed_email_hosts(admin_client, settings, value):
    settings.EMAIL_HOSTS = value
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "EMAIL_HOSTS" in " ".join(str(m) for m in response.context["messages"])


@pytest.mark.parametrize("value", [None, {1: "smtp://a.example"}])
def test_a_malformed_email_hosts_keeps_nobody_from_fixing_a_stored_host(
    admin_client, email_host, settings, value
):
    host = email_host("shop", "console://", backups="spare")
    email_host("spare", "console://")
    settings.EMAIL_HOSTS = value
    change = reverse("admin:email_hosts_emailhost_change", args=[host.pk])
    response = admin_client.post(
        change,
        {"key": "shop", "kind": "locmem", "security": "none", "backups": "spare"},
    )
    assert response.status_code == 302
    assert EmailHost.objects.get(key="shop").dsn == "locmem://"
    spare = EmailHost.objects.get(key="spare")
    delete = reverse("admin:email_hosts_emailhost_delete", args=[spare.pk])
    assert "The host shop lists 'spare' as a backup." in (
        admin_client.get(delete).content.decode()
    )


def test_the_changelist_survives_a_none_dsn(admin_client, settings):
    settings.EMAIL_HOSTS = {"a": None}
    html = admin_client.get(CHANGELIST).content.decode()
    assert "EMAIL_HOSTS[&#x27;a&#x27;]: Enter a DSN" in html


def test_integer_keys_are_named_in_the_error(settings):
    settings.EMAIL_HOSTS = {1: "smtp://a.example"}
    with pytest.raises(ImproperlyConfigured, match="every key must be a string; 1"):
        from_settings("1")


# Properties: every input validates and then sends, or gets a configuration
# error that names the host key; no other exception type, ever.

KEY = "fuzzed"
PASSWORD = "Pw0-fuzz-secret"
FUZZ = fuzz(150, suppress_health_check=[HealthCheck.function_scoped_fixture])
fragments = strategies.text(
    alphabet=strategies.sampled_from(
        string.ascii_letters + string.digits + ":@/?#&=%.[]-_ <>\"'²é\r\n"
    ),
    max_size=12,
)
query = strategies.lists(
    strategies.tuples(
        strategies.sampled_from(sorted(QUERY_PARAMETERS)) | fragments, fragments
    ),
    max_size=3,
).map(lambda pairs: "&".join(f"{name}={value}" for name, value in pairs))
dsns = strategies.builds(
    "{}://{}{}{}{}{}".format,
    strategies.sampled_from(["smtp", "submission", "console", "locmem", "SMTP", "x"]),
    strategies.sampled_from(["", "user:", "user", "apikey:"]),
    strategies.sampled_from(["", PASSWORD, f"{PASSWORD}@", f"{PASSWORD}@@"]),
    strategies.sampled_from(["", "smtp.example.com", "127.0.0.1", "[::1]"]) | fragments,
    strategies.sampled_from(["", ":25", ":0", ":99999"]) | fragments.map(":{}".format),
    query.map(lambda text: f"?{text}" if text else ""),
) | strategies.text(max_size=40)


def _resolve(dsn):
    """Return the host, or None after checking the error names the key."""
    with override_settings(EMAIL_HOSTS={KEY: dsn}):
        try:
            return from_settings(KEY)
        except ImproperlyConfigured as exc:
            assert str(exc).startswith(f"EMAIL_HOSTS['{KEY}']: ")
            assert PASSWORD not in str(exc)
            return None


@FUZZ
@given(dsn=dsns)
def test_every_dsn_validates_and_sends_or_names_the_key(smtp_server, dsn):
    host = _resolve(dsn)
    if host is None or not host.transport.is_smtp:
        return
    # What the socket does with the host and the timeout before any packet.
    host.transport.host.encode("idna")
    with socket.socket() as sock:
        sock.settimeout(host.transport.timeout or conf.default_timeout())
    # Then a real send; only the relay's address is the test server's.
    local = dataclasses.replace(
        host.transport, host="127.0.0.1", port=smtp_server.port, timeout=2
    )
    backend = backend_for(dataclasses.replace(host, transport=local))
    # The relay may say no, or a TLS file may be missing: a send error.
    with contextlib.suppress(OSError, smtplib.SMTPException):
        backend.send_messages([EmailMessage("Hi", "x", to=["to@example.org"])])


@FUZZ
@given(
    sender=strategies.text(max_size=40) | fragments.map("Shop <{}@example.com>".format)
)
def test_every_sender_validates_and_is_usable_or_is_refused(sender):
    try:
        validate_sender(sender)
    except ValidationError:
        return
    EmailMessage("Hi", "x", sender, ["to@example.org"]).message().as_bytes()
    assert domain_of(sender)


@FUZZ
@given(dsn=dsns, sender=strategies.text(max_size=30))
def test_every_stored_host_validates_or_is_refused_by_field(dsn, sender):
    host = EmailHost(key=KEY, dsn=dsn, default_from=sender)
    try:
        host.clean_fields()
    except ValidationError as exc:
        assert set(exc.message_dict) <= {"dsn", "default_from"}
        assert PASSWORD not in str(exc.message_dict)
        return
    parse_dsn(dsn)
