"""Check connection and Send test email explain failures precisely."""

import email
from email import policy

import pytest
from django.urls import reverse
from django.utils import translation

from email_hosts import diagnostics, hosts
from email_hosts.dsn import parse_dsn
from tests.conftest import REFUSED_RECIPIENT


def _host(email_host, dsn, **fields):
    return hosts.from_row(email_host("shop", dsn, **fields))


def _check(email_host, dsn):
    return diagnostics.check_connection(_host(email_host, dsn))


def test_check_connection_succeeds_and_sends_nothing(email_host, smtp_server):
    outcome = _check(email_host, smtp_server.dsn())
    assert outcome == diagnostics.Outcome(
        ok=True, message="Email host 'shop': the connection works."
    )
    assert smtp_server.envelopes == []


def test_check_connection_over_starttls(email_host, starttls_server, trust_test_ca):
    assert _check(email_host, starttls_server.dsn("submission")).ok


NO_BACKUP = "It has no backup, so mail sent through it fails until this is fixed."


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        (
            "smtp://relay.invalid:25?timeout=2",
            (
                "Email host 'shop': the host name relay.invalid could not be resolved;"
                " check its spelling."
            ),
        ),
        (
            "smtp://127.0.0.1:{refused}?timeout=2",
            (
                "Email host 'shop': 127.0.0.1:{refused} refused the connection; check"
                " the host and the port."
            ),
        ),
        (
            "smtp://127.0.0.1:{silent}?timeout=1",
            (
                "Email host 'shop': 127.0.0.1:{silent} did not answer within 1 second;"
                " check the port and the security (SSL/TLS on 465, STARTTLS on 587),"
                " and whether a firewall drops the connection."
            ),
        ),
    ],
)
def test_connection_failures_name_the_relay_and_what_to_check(
    email_host, refused_port, silent_server, dsn, message
):
    ports = {"refused": refused_port, "silent": silent_server}
    outcome = _check(email_host, dsn.format(**ports))
    expected = f"{message.format(**ports)} {NO_BACKUP}"
    assert outcome == diagnostics.Outcome(ok=False, message=expected)


def test_a_relay_without_starttls_is_named_with_what_to_choose(email_host, smtp_server):
    outcome = _check(email_host, smtp_server.dsn("submission"))
    assert outcome.message == (
        f"Email host 'shop': 127.0.0.1:{smtp_server.port} does not offer"
        f" STARTTLS; choose SSL/TLS with its port (usually 465), or no TLS if"
        f" the relay is on a network you trust. {NO_BACKUP}"
    )


def test_a_relay_without_auth_is_named_with_what_to_do(email_host, smtp_server_factory):
    server = smtp_server_factory(offers_auth=False)
    outcome = _check(email_host, server.dsn())
    assert outcome.message == (
        f"Email host 'shop': 127.0.0.1:{server.port} does not offer a login"
        f" (AUTH); leave the user name and password empty, or use the port that"
        f" offers it (usually 587). {NO_BACKUP}"
    )


def test_a_failure_says_which_backups_take_over(email_host, refused_port):
    email_host("spare", "console://")
    email_host("last", "console://")
    host = _host(email_host, f"smtp://127.0.0.1:{refused_port}", backups="spare, last")
    outcome = diagnostics.check_connection(host)
    assert outcome.message.endswith(
        "When this happens while sending, its backups 'spare', 'last' take over,"
        " in this order."
    )


def test_a_permanent_refusal_says_nothing_about_backups(email_host, smtp_server):
    host = _host(email_host, smtp_server.dsn(), backups="spare")
    outcome = diagnostics.send_test_email(host, REFUSED_RECIPIENT)
    assert outcome.message == "Email host 'shop': the server refused the recipient."


def test_timeout_is_capped(email_host, silent_server, monkeypatch):
    monkeypatch.setattr(diagnostics, "TIMEOUT_CAP", 1)
    outcome = _check(email_host, f"smtp://127.0.0.1:{silent_server}?timeout=300")
    assert f"127.0.0.1:{silent_server} did not answer within 1 second;" in (
        outcome.message
    )


def test_untrusted_certificate_is_a_tls_failure(
    email_host, smtp_server_factory, untrusted_ca
):
    server = smtp_server_factory(tls=untrusted_ca.server_context)
    outcome = _check(email_host, server.dsn("submission"))
    assert outcome.message.startswith("Email host 'shop': TLS failed: ")
    assert not outcome.ok


def test_rejected_login_is_named_without_the_password(email_host, smtp_server):
    outcome = _check(email_host, smtp_server.dsn(password="wrong-pass"))
    assert outcome == diagnostics.Outcome(
        ok=False,
        message=f"Email host 'shop': the server rejected the login (535). {NO_BACKUP}",
    )
    assert "wrong-pass" not in outcome.message


def test_send_test_email_reaches_the_recipient_only(email_host, smtp_server):
    host = _host(email_host, smtp_server.dsn(), default_from="shop@example.com")
    outcome = diagnostics.send_test_email(host, "admin@example.org")
    assert (
        outcome.message == "Email host 'shop': sent a test email to admin@example.org."
    )
    [envelope] = smtp_server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "shop@example.com",
        ["admin@example.org"],
    )
    # Parsed: Django 6.0 sends the body quoted-printable, wrapped.
    sent = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert sent["Subject"] == "Test email through the email host 'shop'"
    assert (
        f"through the email host 'shop': smtp://relay-user@127.0.0.1:"
        f"{smtp_server.port} (no TLS)."
    ) in sent.get_content()


def test_refused_recipient_is_named(email_host, smtp_server):
    host = _host(email_host, smtp_server.dsn())
    outcome = diagnostics.send_test_email(host, REFUSED_RECIPIENT)
    assert outcome == diagnostics.Outcome(
        ok=False, message="Email host 'shop': the server refused the recipient."
    )


def test_checks_of_several_hosts_run_at_once(
    admin_client, email_host, greets_three_at_once
):
    selected = [
        email_host(key, f"smtp://127.0.0.1:{greets_three_at_once}?timeout=5").pk
        for key in ("a", "b", "c")
    ]
    response = admin_client.post(
        reverse("admin:email_hosts_emailhost_changelist"),
        {"action": "check_connection_action", "_selected_action": selected},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"Email host {key!r}: the connection works." for key in ("a", "b", "c")
    ]


def test_a_batch_of_checks_answers_within_its_limit(silent_server):
    host = hosts.Host(
        key="slow",
        source=hosts.SETTINGS,
        transport=parse_dsn(f"smtp://127.0.0.1:{silent_server}?timeout=3"),
        default_from="",
    )
    [outcome] = diagnostics.run_all(
        [("slow", lambda: diagnostics.check_connection(host))], limit=0.5
    )
    assert outcome == diagnostics.Outcome(
        ok=False,
        message="Email host 'slow': no result within 0.5 seconds, while other hosts"
        " were checked too. Check it on its own.",
    )


def test_a_failure_is_explained_in_the_admin_language(email_host, refused_port):
    with translation.override("de"):
        outcome = _check(email_host, f"smtp://127.0.0.1:{refused_port}?timeout=2")
    assert outcome.message == (
        f"E-Mail-Host 'shop': 127.0.0.1:{refused_port} hat die Verbindung"
        " abgelehnt; prüfen Sie Host und Port. Er hat keinen Ersatz-Host, daher"
        " schlägt E-Mail über ihn fehl, bis das behoben ist."
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            "550 5.7.30 Basic authentication is not supported for Client Submission.",
            (
                "the server no longer accepts a password for sending (550 5.7.30:"
                " Basic authentication is off); this host needs OAuth2 or another"
                " relay"
            ),
        ),
        (
            (
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is"
                " disabled for the Tenant."
            ),
            (
                "the server rejected the login (535 5.7.139): Microsoft 365 has SMTP"
                " AUTH turned off for this mailbox or its tenant, or security"
                " defaults block it; a Microsoft 365 administrator can turn on"
                " Authenticated SMTP for the mailbox"
            ),
        ),
        (
            "535 5.7.3 Authentication unsuccessful",
            (
                "the server rejected the login (535 5.7.3): check the password, and"
                " that Microsoft 365 allows Authenticated SMTP for this mailbox"
            ),
        ),
    ],
)
def test_known_login_refusals_say_what_they_mean(
    email_host, smtp_server_factory, answer, reason
):
    server = smtp_server_factory(refuses_login_with=answer)
    outcome = _check(email_host, server.dsn())
    assert outcome.message == f"Email host 'shop': {reason}. {NO_BACKUP}"
