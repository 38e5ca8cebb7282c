"""
EMAIL_HOSTS_ALLOWED_RELAYS: whoever edits hosts in the admin cannot point a
stored host at a server of their own, neither at validation nor at use.
"""

import django
import pytest
from django.core import checks, mail
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from email_hosts.backends import get_connection
from email_hosts.conf import MAIL_PORTS
from email_hosts.dsn import relays
from email_hosts.exceptions import RelayNotAllowed
from email_hosts.models import EmailHost
from email_hosts.routing import RoutingBackend


ONLY_EXAMPLE = override_settings(EMAIL_HOSTS_ALLOWED_RELAYS=["smtp.example.com"])


@pytest.mark.parametrize(
    ("patterns", "host", "allowed"),
    [
        (None, "anything.example.net", True),
        (["smtp.example.com"], "smtp.example.com", True),
        (["smtp.example.com"], "SMTP.Example.COM", True),
        (["smtp.example.com"], "smtp.example.com.", True),
        (["smtp.example.com"], "evil.example.com", False),
        ([".example.com"], "example.com", True),
        ([".example.com"], "smtp.eu.example.com", True),
        ([".example.com"], "example.com.evil.net", False),
        ([".example.com"], "notexample.com", False),
        (["*"], "127.0.0.1", True),
        ([".0.0.1"], "127.0.0.1", False),
        (["127.0.0.1"], "127.0.0.1", True),
        (["[::1]"], "::1", True),
        (["::1"], "::1", True),
        (["smtp.example.com"], "localhost", False),
        (["localhost"], "localhost", True),
        ([], "smtp.example.com", False),
    ],
)
def test_patterns_match_like_allowed_hosts(settings, patterns, host, allowed):
    settings.EMAIL_HOSTS_ALLOWED_RELAYS = patterns
    assert relays.is_allowed(host, 587) is allowed


@pytest.mark.parametrize(
    ("patterns", "host", "port", "allowed"),
    [
        *[(["smtp.example.com"], "smtp.example.com", p, True) for p in MAIL_PORTS],
        (["smtp.example.com"], "smtp.example.com", 22, False),
        (["smtp.example.com"], "smtp.example.com", 6379, False),
        (["*"], "10.0.0.5", 8080, False),
        (["smtp.example.com:2526"], "smtp.example.com", 2526, True),
        (["smtp.example.com:2526"], "smtp.example.com", 587, False),
        ([".example.com:2526"], "eu.example.com", 2526, True),
        (["[::1]:2526"], "::1", 2526, True),
        (["[::1]:2526"], "::1", 25, False),
        (["[::1]"], "::1", 25, True),
        (["127.0.0.1:2526", "127.0.0.1"], "127.0.0.1", 25, True),
    ],
)
def test_an_entry_allows_its_own_port_or_the_mail_ports(
    settings, patterns, host, port, allowed
):
    settings.EMAIL_HOSTS_ALLOWED_RELAYS = patterns
    assert relays.is_allowed(host, port) is allowed


@pytest.mark.parametrize(
    "entry", ["smtp.example.com:99999", "smtp.example.com:abc", "[::1]:0", "h:"]
)
def test_a_malformed_port_names_the_entry(settings, entry):
    settings.EMAIL_HOSTS_ALLOWED_RELAYS = ["smtp.example.com", entry]
    with pytest.raises(ImproperlyConfigured) as excinfo:
        relays.is_allowed("smtp.example.com", 587)
    assert str(excinfo.value).startswith(f"EMAIL_HOSTS_ALLOWED_RELAYS[1]: {entry!r}")
    assert [m.id for m in checks.run_checks() if m.id.startswith("email_hosts")] == [
        "email_hosts.E012"
    ]


@override_settings(EMAIL_HOSTS_ALLOWED_RELAYS=["127.0.0.1"])
def test_check_connection_probes_no_other_port_of_an_allowed_relay(
    press_button, db, smtp_server, refused_port, silent_server
):
    # An open SMTP port, a closed one and a silent one: all refused alike,
    # at once, with no connection, so nobody can tell them apart.
    answers = []
    for key, port in (
        ("open", smtp_server.port),
        ("closed", refused_port),
        ("silent", silent_server),
    ):
        EmailHost.objects.bulk_create(
            [EmailHost(key=key, dsn=f"smtp://127.0.0.1:{port}?timeout=2")]
        )
        [message] = press_button(EmailHost.objects.get(key=key))
        answers.append(message.replace(str(port), "PORT").replace(key, "KEY"))
    assert len(set(answers)) == 1
    assert "'127.0.0.1:PORT' is not in EMAIL_HOSTS_ALLOWED_RELAYS" in answers[0]
    assert smtp_server.connections == 0


@pytest.mark.parametrize("value", ["smtp.example.com", [""], [None], 42])
def test_a_malformed_setting_is_a_configuration_error(settings, value):
    settings.EMAIL_HOSTS_ALLOWED_RELAYS = value
    with pytest.raises(ImproperlyConfigured, match="must be a list of relay host"):
        relays.is_allowed("smtp.example.com", 587)
    assert [m.id for m in checks.run_checks() if m.id.startswith("email_hosts")] == [
        "email_hosts.E012"
    ]


# At validation


@ONLY_EXAMPLE
def test_model_validation_refuses_an_unlisted_relay(db):
    host = EmailHost(key="shop", dsn="smtp://u:p@evil.example.net")
    with pytest.raises(ValidationError) as excinfo:
        host.full_clean()
    assert excinfo.value.message_dict["dsn"] == [
        (
            "The relay 'evil.example.net:25' is not in EMAIL_HOSTS_ALLOWED_RELAYS (an"
            " entry without a port allows the ports 25, 465, 587, 2525 alone). Use an"
            " allowed relay, or ask whoever deploys the site to add it."
        )
    ]


@ONLY_EXAMPLE
def test_admin_form_refuses_an_unlisted_relay_on_the_host_field(add_form_errors):
    errors = add_form_errors(
        kind="submission", host="evil.example.net", security="starttls", password="p"
    )
    assert list(errors) == ["host"]
    assert "is not in EMAIL_HOSTS_ALLOWED_RELAYS" in errors["host"][0]
    assert not EmailHost.objects.exists()


@ONLY_EXAMPLE
def test_admin_form_refuses_a_pasted_dsn_with_an_unlisted_relay(add_form_errors):
    errors = add_form_errors(
        kind="submission", security="starttls", pasted_dsn="smtp://u:p@evil.example.net"
    )
    assert "is not in EMAIL_HOSTS_ALLOWED_RELAYS" in errors["pasted_dsn"][0]
    assert not EmailHost.objects.exists()


@ONLY_EXAMPLE
@override_settings(
    EMAIL_HOSTS={
        "shop": "submission://u:p@smtp.example.com",
        "evil": "submission://u:p@evil.example.net",
    }
)
def test_import_refuses_an_unlisted_relay_and_imports_the_rest(db):
    with pytest.raises(CommandError, match="'evil'.*evil.example.net"):
        call_command("importemailhosts")
    assert list(EmailHost.objects.values_list("key", flat=True)) == ["shop"]


# At use: rows written past validation


@pytest.fixture
def unlisted_row(db, smtp_server):
    """A stored host on 127.0.0.1, written past validation by bulk_create."""
    EmailHost.objects.bulk_create([EmailHost(key="shop", dsn=smtp_server.dsn())])
    return smtp_server


@ONLY_EXAMPLE
def test_get_connection_refuses_an_unlisted_stored_relay_and_contacts_nothing(
    unlisted_row,
):
    with pytest.raises(RelayNotAllowed) as excinfo:
        get_connection("shop")
    relay = f"127.0.0.1:{unlisted_row.port}"
    assert str(excinfo.value) == (
        f"EmailHost['shop']: The relay '{relay}' is not in"
        f" EMAIL_HOSTS_ALLOWED_RELAYS, so this stored host sends nothing. Point the"
        f" host at an allowed relay, or add '{relay}' to the setting if it is yours."
    )
    assert unlisted_row.connections == 0


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS arrived in Django 6.1")
@ONLY_EXAMPLE
@override_settings(
    MAILERS={
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        "shop": {"BACKEND": "email_hosts.backends.EmailHostsBackend"},
    }
)
def test_a_mailers_entry_refuses_an_unlisted_stored_relay(unlisted_row):
    with pytest.raises(RelayNotAllowed):
        EmailMessage("Hi", "x", to=["to@example.org"]).send(using="shop")
    assert unlisted_row.connections == 0


def test_routing_skips_an_unlisted_primary_for_its_listed_backup(
    db, smtp_server_factory, settings
):
    primary, backup = smtp_server_factory(), smtp_server_factory()
    settings.EMAIL_HOSTS_ALLOWED_RELAYS = [f"localhost:{backup.port}"]
    EmailHost.objects.bulk_create(
        [
            EmailHost(
                key="shop",
                dsn=primary.dsn(),
                default_from="shop@example.com",
                backups="spare",
            ),
            EmailHost(key="spare", dsn=backup.dsn().replace("127.0.0.1", "localhost")),
        ]
    )
    sent = RoutingBackend().send_messages(
        [EmailMessage("Hi", "x", "shop@example.com", ["to@example.org"])]
    )
    assert (sent, primary.connections, len(backup.envelopes)) == (1, 0, 1)


@ONLY_EXAMPLE
def test_routing_with_only_an_unlisted_relay_raises_naming_it(unlisted_row):
    EmailHost.objects.filter(key="shop").update(default_from="shop@example.com")
    with pytest.raises(
        ImproperlyConfigured, match="'shop'.*'127.0.0.1:\\d+' is not in"
    ):
        RoutingBackend().send_messages(
            [EmailMessage("Hi", "x", "shop@example.com", ["to@example.org"])]
        )
    assert unlisted_row.connections == 0


@ONLY_EXAMPLE
def test_check_connection_refuses_an_unlisted_relay_and_contacts_nothing(
    press_button, unlisted_row
):
    [message] = press_button(EmailHost.objects.get())
    assert f"'127.0.0.1:{unlisted_row.port}' is not in EMAIL_HOSTS_ALLOWED_RELAYS" in (
        message
    )
    assert unlisted_row.connections == 0


@ONLY_EXAMPLE
def test_send_test_email_refuses_an_unlisted_relay(press_button, unlisted_row):
    [message] = press_button(EmailHost.objects.get(), "send_test_email")
    assert "is not in EMAIL_HOSTS_ALLOWED_RELAYS" in message
    assert (unlisted_row.connections, mail.outbox) == (0, [])


@ONLY_EXAMPLE
def test_the_stored_host_check_reports_an_unlisted_relay(unlisted_row):
    messages = [
        m
        for m in checks.run_checks(databases=["default"])
        if m.id.startswith("email_hosts")
    ]
    relay = f"'127.0.0.1:{unlisted_row.port}' is not in"
    assert [(m.id, relay in m.msg) for m in messages] == [("email_hosts.E011", True)]


def test_settings_hosts_are_exempt(db, smtp_server, settings):
    settings.EMAIL_HOSTS = {"shop": smtp_server.dsn()}
    settings.EMAIL_HOSTS_ALLOWED_RELAYS = ["smtp.example.com"]
    get_connection("shop").send_messages(
        [EmailMessage("Hi", "x", "a@example.com", ["to@example.org"])]
    )
    assert len(smtp_server.envelopes) == 1


# The deploy check


def _deploy_warnings(**overrides):
    with override_settings(FERNET_KEYS=["k" * 32], **overrides):
        return [
            m.id
            for m in checks.run_checks(include_deployment_checks=True)
            if m.id.startswith("email_hosts.W")
        ]


def test_w004_warns_when_unset_in_production():
    assert _deploy_warnings() == ["email_hosts.W004"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"DEBUG": True},
        {"EMAIL_HOSTS_ALLOWED_RELAYS": []},
        {"EMAIL_HOSTS_ALLOWED_RELAYS": ["*"]},
    ],
)
def test_w004_is_quiet_when_set_or_in_development(overrides):
    assert _deploy_warnings(**overrides) == []
