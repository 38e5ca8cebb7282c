"""RoutingBackend: the sender's domain picks the relay; backups take over."""

import logging

import pytest
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User
from django.core import checks, mail
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.test.utils import override_settings

from email_hosts.admin.forms import EmailHostForm
from email_hosts.backends import get_connection
from email_hosts.exceptions import AmbiguousSenderDomain, DeliveryFailed
from email_hosts.models import EmailHost
from email_hosts.routing import RoutingBackend
from tests.conftest import PASSWORD, REFUSED_RECIPIENT


ROUTING = "email_hosts.routing.RoutingBackend"


def _message(sender, to="to@example.net"):
    return EmailMessage("Hi", "Hello", from_email=sender, to=[to])


def _our_log(caplog):
    return [
        record.getMessage() for record in caplog.records if record.name == "email_hosts"
    ]


def _senders(server):
    return [envelope.mail_from for envelope in server.envelopes]


@pytest.fixture
def relays(email_host, smtp_server_factory):
    """Three relays: shop for example.com, club for example.org, books for an IDN."""
    servers = {name: smtp_server_factory() for name in ("shop", "club", "books")}
    email_host("shop", servers["shop"].dsn(), default_from="Shop <shop@example.com>")
    email_host("club", servers["club"].dsn(), default_from="club@example.org")
    email_host(
        "books", servers["books"].dsn(), sender_domains="Bücher.Example, books.example"
    )
    return servers


def test_1000_messages_across_three_domains_reach_their_relays_one_connection_each(
    relays,
):
    senders = [
        "shop@example.com",
        "Club <info@EXAMPLE.org>",
        "news@xn--bcher-kva.example",
    ]
    messages = [_message(senders[number % 3]) for number in range(1000)]
    assert RoutingBackend().send_messages(messages) == 1000
    counts = {name: len(server.envelopes) for name, server in relays.items()}
    assert counts == {"shop": 334, "club": 333, "books": 333}
    assert {name: server.connections for name, server in relays.items()} == {
        "shop": 1,
        "club": 1,
        "books": 1,
    }
    assert set(_senders(relays["club"])) == {"info@EXAMPLE.org"}


def test_matching_ignores_case_and_reads_internationalised_domains(relays):
    RoutingBackend().send_messages(
        [_message("a@BÜCHER.example"), _message("b@Books.Example")]
    )
    assert len(relays["books"].envelopes) == 2


@override_settings(DEFAULT_FROM_EMAIL="webmaster@example.org")
def test_mail_without_a_sender_routes_by_default_from_email(relays):
    RoutingBackend().send_messages([_message(None)])
    assert _senders(relays["club"]) == ["club@example.org"]


def test_settings_hosts_declare_sender_domains(db, smtp_server):
    dsn = smtp_server.dsn(query="_sender_domains=example.net,example.info")
    with override_settings(EMAIL_HOSTS={"net": dsn}):
        RoutingBackend().send_messages([_message("x@example.info")])
    assert _senders(smtp_server) == ["x@example.info"]


def test_unserved_domain_goes_to_the_fallback_host(relays):
    RoutingBackend(fallback="club").send_messages([_message("x@unknown.example")])
    assert _senders(relays["club"]) == ["x@unknown.example"]


@override_settings(EMAIL_HOSTS_FALLBACK="shop")
def test_fallback_setting(relays):
    RoutingBackend().send_messages([_message("x@unknown.example")])
    assert _senders(relays["shop"]) == ["x@unknown.example"]


def test_unserved_domain_without_fallback_goes_to_djangos_default(relays):
    RoutingBackend().send_messages([_message("x@unknown.example")])
    assert [m.from_email for m in mail.outbox] == ["x@unknown.example"]
    assert all(server.envelopes == [] for server in relays.values())


@pytest.mark.skipif(
    not hasattr(mail, "mailers"), reason="MAILERS arrived in Django 6.1"
)
def test_default_mailer_without_fallback_is_an_invalid_mailer(db):
    with (
        override_settings(MAILERS={"default": {"BACKEND": ROUTING}}),
        pytest.raises(mail.InvalidMailer, match="needs a fallback host"),
    ):
        mail.mailers.default  # noqa: B018 -- building it is the test


def test_primary_that_refuses_connections_fails_over(
    email_host, smtp_server, refused_port, caplog
):
    email_host(
        "shop",
        f"smtp://127.0.0.1:{refused_port}?timeout=2",
        default_from="shop@example.com",
        backups="backup",
    )
    email_host("backup", smtp_server.dsn())
    with caplog.at_level(logging.WARNING, logger="email_hosts"):
        assert (
            RoutingBackend().send_messages(
                [_message("a@example.com"), _message("b@example.com")]
            )
            == 2
        )
    assert _senders(smtp_server) == ["a@example.com", "b@example.com"]
    assert _our_log(caplog) == [
        (
            f"Email host 'shop' failed (127.0.0.1:{refused_port} refused the"
            " connection; check the host and the port); sending 2 message(s)"
            " through 'backup' instead."
        )
    ]


def test_rejected_login_fails_over_without_logging_the_password(
    email_host, smtp_server_factory, caplog
):
    primary, backup = smtp_server_factory(), smtp_server_factory()
    email_host(
        "shop",
        primary.dsn(password="wrong"),
        default_from="s@example.com",
        backups="backup",
    )
    email_host("backup", backup.dsn())
    with caplog.at_level(logging.WARNING, logger="email_hosts"):
        RoutingBackend().send_messages([_message("s@example.com")])
    assert len(backup.envelopes) == 1
    assert "rejected the login (535)" in caplog.text
    assert "wrong" not in caplog.text
    assert PASSWORD not in caplog.text


def test_primary_stopping_mid_batch_hands_over_exactly_the_rest(
    email_host, smtp_server_factory
):
    primary = smtp_server_factory(shut_down_after=3)
    backup = smtp_server_factory()
    email_host("shop", primary.dsn(), default_from="s@example.com", backups="backup")
    email_host("backup", backup.dsn())
    messages = [
        _message("s@example.com", to=f"to{number}@example.net") for number in range(10)
    ]
    assert RoutingBackend().send_messages(messages) == 10
    accepted = [envelope.rcpt_tos[0] for envelope in primary.envelopes]
    handed_over = [envelope.rcpt_tos[0] for envelope in backup.envelopes]
    assert accepted == [f"to{number}@example.net" for number in range(3)]
    assert handed_over == [f"to{number}@example.net" for number in range(3, 10)]


def test_permanent_recipient_refusal_does_not_fail_over(
    email_host, smtp_server_factory
):
    primary, backup = smtp_server_factory(), smtp_server_factory()
    email_host("shop", primary.dsn(), default_from="s@example.com", backups="backup")
    email_host("backup", backup.dsn())
    with pytest.raises(Exception, match="550") as excinfo:
        RoutingBackend().send_messages(
            [_message("s@example.com", to=REFUSED_RECIPIENT)]
        )
    assert type(excinfo.value).__name__ == "SMTPRecipientsRefused"
    assert backup.envelopes == []


def test_undecryptable_primary_fails_over_to_its_backup(
    email_host, smtp_server, settings
):
    with override_settings(FERNET_KEYS=["lost-key"]):
        email_host(
            "shop",
            "smtp://smtp.example.com",
            default_from="s@example.com",
            backups="backup",
        )
    email_host("backup", smtp_server.dsn())
    RoutingBackend().send_messages([_message("s@example.com")])
    assert _senders(smtp_server) == ["s@example.com"]


def test_every_host_down_raises_and_fail_silently_returns_what_was_sent(
    email_host, smtp_server, refused_port
):
    email_host(
        "shop",
        f"smtp://127.0.0.1:{refused_port}?timeout=2",
        default_from="s@example.com",
    )
    email_host("club", smtp_server.dsn(), default_from="c@example.org")
    messages = [_message("s@example.com"), _message("c@example.org")]
    with pytest.raises(DeliveryFailed, match=r"'shop' \(127.0.0.1:[0-9]+ refused the"):
        RoutingBackend().send_messages(messages)
    assert RoutingBackend(fail_silently=True).send_messages(messages) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"backups": "nope"},
            "backups",
            "No email host nope: add it first, or correct the key.",
        ),
        (
            {"backups": "club"},
            "backups",
            "The backups go round in a circle: shop → club → shop.",
        ),
    ],
)
def test_routing_mistakes_are_refused_by_the_admin_form(
    email_host, changes, field, message
):
    email_host("shop", "smtp://smtp.example.com", default_from="s@example.com")
    email_host(
        "club", "smtp://smtp.example.org", default_from="c@example.org", backups="shop"
    )
    assert _form_errors(EmailHost.objects.get(key="shop"), **changes) == {
        field: [message]
    }


def _form_errors(email_host, **changes):
    """Return the admin form's errors for ``email_host`` with ``changes``."""
    initial = EmailHostForm(instance=email_host).initial
    data = {name: initial.get(name) or "" for name in EmailHostForm.base_fields}
    return EmailHostForm(data | changes, instance=email_host).errors


def _password_reset(email, from_email):
    form = PasswordResetForm({"email": email})
    assert form.is_valid()
    form.save(
        from_email=from_email, domain_override=from_email.split("@")[1], use_https=True
    )


def test_password_reset_on_a_two_domain_site_leaves_through_the_right_relay(relays):
    User.objects.create_user("ann", "ann@example.net", "pw")
    routed = (
        {"MAILERS": {"default": {"BACKEND": ROUTING, "OPTIONS": {"fallback": "shop"}}}}
        if hasattr(mail, "mailers")
        else {"EMAIL_BACKEND": ROUTING}
    )
    with override_settings(**routed):
        _password_reset("ann@example.net", "info@example.org")
        _password_reset("ann@example.net", "info@example.com")
    assert _senders(relays["club"]) == ["info@example.org"]
    assert _senders(relays["shop"]) == ["info@example.com"]
    assert (
        b"https://example.org/accounts/reset/"
        in relays["club"].envelopes[0].original_content
    )


# Several hosts for one sender domain


@pytest.fixture
def two_streams(email_host, smtp_server_factory):
    """A transactional and a newsletter relay, both sending from example.com."""
    transactional, newsletter = smtp_server_factory(), smtp_server_factory()
    email_host("transactional", transactional.dsn(), default_from="t@example.com")
    email_host("newsletter", newsletter.dsn(), default_from="news@example.com")
    return transactional, newsletter


def test_two_hosts_may_share_a_default_senders_domain(two_streams):
    transactional, newsletter = two_streams
    get_connection("newsletter").send_messages([_message("")])
    get_connection("transactional").send_messages([_message("")])
    assert (_senders(newsletter), _senders(transactional)) == (
        ["news@example.com"],
        ["t@example.com"],
    )


def test_routing_refuses_to_guess_between_default_senders(two_streams):
    with pytest.raises(AmbiguousSenderDomain) as excinfo:
        RoutingBackend().send_messages([_message("a@example.com")])
    assert str(excinfo.value) == (
        "RoutingBackend['example.com']: 2 hosts claim 'example.com'"
        " ('newsletter', 'transactional'), so RoutingBackend cannot choose one."
        " List 'example.com' in the sender domains of the host that should send"
        " its mail."
    )
    assert [server.envelopes for server in two_streams] == [[], []]


def test_an_explicit_claim_wins_over_default_senders(two_streams):
    transactional, newsletter = two_streams
    EmailHost.objects.filter(key="transactional").update(sender_domains="example.com")
    RoutingBackend().send_messages([_message("a@example.com")])
    assert (_senders(transactional), newsletter.envelopes) == (["a@example.com"], [])


def test_listing_a_domain_another_host_lists_is_a_validation_error(two_streams):
    EmailHost.objects.filter(key="transactional").update(sender_domains="example.com")
    newsletter = EmailHost.objects.get(key="newsletter")
    assert _form_errors(newsletter, sender_domains="example.com") == {
        "sender_domains": [
            (
                "example.com already listed by transactional: one host per domain."
                " Remove it here or there; the other host can be a backup."
            )
        ]
    }


@override_settings(
    EMAIL_HOSTS={
        "transactional": "smtp://a.example.com?_sender_domains=example.com",
        "newsletter": "smtp://b.example.com?_sender_domains=example.com",
    }
)
def test_no_routing_rule_makes_migrate_fail(db):
    for _run in range(2):
        call_command("migrate", verbosity=0)
    assert [
        m.id for m in checks.run_checks(databases=["default"]) if m.id.endswith("W007")
    ] == ["email_hosts.W007"]
