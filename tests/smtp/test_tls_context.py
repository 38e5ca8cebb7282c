"""
One TLS context per configuration and process, shared by every backend,
and exactly as strict as a new one.
"""

import shutil
import ssl

import pytest
from django.core.mail import EmailMessage
from django.test import override_settings

from email_hosts.backends import backend_for, get_connection
from email_hosts.hosts import from_settings


def _backend(dsn):
    with override_settings(EMAIL_HOSTS={"shop": dsn}):
        return backend_for(from_settings("shop"))


def test_backends_for_one_relay_share_one_context(trust_test_ca):
    dsn = "submission://user:pw@smtp.example.com"
    assert _backend(dsn).ssl_context is _backend(dsn).ssl_context


def test_the_shared_context_verifies_certificate_and_host_name(trust_test_ca):
    context = _backend("submission://user:pw@smtp.example.com").ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    default = ssl.create_default_context()
    assert (context.minimum_version, context.options) == (
        default.minimum_version,
        default.options,
    )


def test_a_host_with_its_own_ca_gets_its_own_context(test_ca, trust_test_ca):
    system = _backend("submission://user:pw@smtp.example.com").ssl_context
    own = _backend(
        f"submission://user:pw@smtp.example.com?ssl_cafile={test_ca.cert_path}"
    ).ssl_context
    assert own is not system
    assert own.verify_mode == ssl.CERT_REQUIRED
    assert own.check_hostname is True


def test_a_replaced_ca_file_gets_a_new_context(test_ca, untrusted_ca, tmp_path):
    cafile = tmp_path / "relay-ca.pem"
    shutil.copy(test_ca.cert_path, cafile)
    dsn = f"submission://user:pw@smtp.example.com?ssl_cafile={cafile}"
    before = _backend(dsn).ssl_context
    shutil.copy(untrusted_ca.cert_path, cafile)
    cafile.write_bytes(cafile.read_bytes() + b"\n")  # A new size, whatever mtime says.
    assert _backend(dsn).ssl_context is not before


def test_a_shared_context_still_refuses_an_untrusted_relay(
    email_host, starttls_server, smtp_server_factory, untrusted_ca, trust_test_ca
):
    message = EmailMessage("Hi", "Hello", "shop@example.com", ["to@example.org"])
    email_host("shop", starttls_server.dsn("submission"))
    assert get_connection("shop").send_messages([message]) == 1
    impostor = smtp_server_factory(tls=untrusted_ca.server_context)
    email_host("club", impostor.dsn("submission"))
    with pytest.raises(ssl.SSLCertVerificationError):
        get_connection("club").send_messages([message])
    assert impostor.envelopes == []
