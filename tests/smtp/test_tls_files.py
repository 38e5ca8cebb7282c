"""
Per-host TLS files: trust a relay's private CA for that relay alone, and
present a client certificate to a relay that requires one. Certificate and
host name are always verified.
"""

import smtplib
import ssl

import pytest
from django.core.mail import EmailMessage
from django.urls import reverse

import email_hosts
from email_hosts.backends import get_connection
from email_hosts.dsn import parse_dsn
from email_hosts.models import EmailHost


def _send(key="shop"):
    return get_connection(key).send_messages(
        [EmailMessage("Hi", "x", "a@example.com", ["to@example.org"])]
    )


def test_a_private_ca_is_trusted_for_its_relay_only(
    email_host, starttls_server, test_ca
):
    email_host(
        "shop",
        starttls_server.dsn("submission", query=f"ssl_cafile={test_ca.cert_path}"),
    )
    email_host("other", starttls_server.dsn("submission"))
    assert _send("shop") == 1
    with pytest.raises(ssl.SSLCertVerificationError):
        _send("other")
    assert len(starttls_server.envelopes) == 1


def test_implicit_tls_uses_the_hosts_ca(email_host, implicit_tls_server, test_ca):
    email_host(
        "shop", implicit_tls_server.dsn(query=f"ssl&ssl_cafile={test_ca.cert_path}")
    )
    assert _send() == 1


def test_a_ca_that_did_not_sign_the_relay_is_refused(
    email_host, starttls_server, untrusted_ca
):
    email_host(
        "shop",
        starttls_server.dsn("submission", query=f"ssl_cafile={untrusted_ca.cert_path}"),
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        _send()
    assert starttls_server.envelopes == []


def test_the_hosts_context_verifies_certificate_and_host_name(email_host, test_ca):
    email_host("shop", f"submission://smtp.example.com?ssl_cafile={test_ca.cert_path}")
    context = get_connection("shop").ssl_context
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_a_client_certificate_is_presented(
    email_host, client_certificate_server, test_ca
):
    email_host(
        "shop",
        client_certificate_server.dsn(
            "submission",
            query=f"ssl_cafile={test_ca.cert_path}"
            f"&ssl_certfile={test_ca.client_chain_path}",
        ),
    )
    assert _send() == 1
    assert len(client_certificate_server.envelopes) == 1


def test_without_the_client_certificate_the_relay_refuses(
    email_host, client_certificate_server, test_ca
):
    email_host(
        "shop",
        client_certificate_server.dsn(
            "submission", query=f"ssl_cafile={test_ca.cert_path}"
        ),
    )
    with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, OSError)):
        _send()
    assert client_certificate_server.envelopes == []


def test_settings_hosts_and_mailers_carry_the_ca(
    db, settings, starttls_server, test_ca
):
    dsn = starttls_server.dsn("submission", query=f"ssl_cafile={test_ca.cert_path}")
    settings.EMAIL_HOSTS = {"shop": dsn}
    assert email_hosts.mailers({"shop": dsn})["shop"]["OPTIONS"]["ssl_cafile"] == (
        test_ca.cert_path
    )
    assert _send() == 1


def test_a_missing_file_is_explained(press_button, email_host, starttls_server):
    host = email_host(
        "shop",
        starttls_server.dsn("submission", query="ssl_cafile=/nonexistent/ca.pem"),
    )
    assert press_button(host) == [
        (
            "Email host 'shop': a TLS certificate or key file cannot be read"
            " (No such file or directory). It has no backup, so mail sent through"
            " it fails until this is fixed."
        )
    ]


def test_the_admin_edits_the_tls_files(admin_client, db, test_ca):
    admin_client.post(
        reverse("admin:email_hosts_emailhost_add"),
        {
            "key": "shop",
            "kind": "submission",
            "host": "smtp.example.com",
            "security": "starttls",
            "password": "p",
            "ssl_cafile": test_ca.cert_path,
            "ssl_certfile": test_ca.client_chain_path,
        },
    )
    transport = parse_dsn(EmailHost.objects.get().dsn)
    assert (transport.ssl_cafile, transport.ssl_certfile, transport.ssl_keyfile) == (
        test_ca.cert_path,
        test_ca.client_chain_path,
        "",
    )
