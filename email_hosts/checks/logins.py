"""Check how the hosts log in: in clear, or with a password being retired."""

import ipaddress

from django.core import checks

from email_hosts.checks.base import TAG, settings_hosts


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cleartext_warning(host):
    transport = host.transport
    if (
        not transport.is_smtp
        or not transport.password
        or transport.use_tls
        or transport.use_ssl
        or _is_loopback(transport.host)
    ):
        return []
    return [
        checks.Warning(
            f"Email host {host.key!r} ({host.source}) sends its password to"
            f" {transport.host} without TLS.",
            hint="Use submission:// or add ?tls or ?ssl to the DSN.",
            id="email_hosts.W003",
        )
    ]


#: Relays whose providers stop taking passwords for SMTP, and what to say.
PASSWORD_RETIRING_RELAYS = {
    "smtp.office365.com": "microsoft",
    "smtp-legacy.office365.com": "microsoft",
    "smtp.gmail.com": "google",
}


def _retiring_password_warning(host):
    transport = host.transport
    provider = PASSWORD_RETIRING_RELAYS.get((transport.host or "").lower())
    if (
        not transport.is_smtp
        or not transport.password
        or transport.oauth2
        or provider is None
    ):
        return []
    hint = {
        "microsoft": "Microsoft turns Basic authentication for SMTP AUTH off by"
        " default for existing tenants at the end of December 2026, and later"
        " removes it. Move this host to OAuth2 (see 'Microsoft 365' in the"
        " docs) or to another relay.",
        "google": "Google accepts no account password for SMTP: only an app"
        " password, which a Workspace administrator may forbid, or OAuth2."
        " Move this host to an account connected with OAuth2 (see 'Google"
        " Workspace' in the docs) or to another relay.",
    }[provider]
    return [
        checks.Warning(
            f"Email host {host.key!r} ({host.source}) logs in to"
            f" {transport.host} with a password.",
            hint=hint,
            id="email_hosts.W011",
        )
    ]


def login_warnings(host):
    """Return the warnings about how ``host`` logs in (W003, W011)."""
    return _cleartext_warning(host) + _retiring_password_warning(host)


@checks.register(TAG, deploy=True)
def check_settings_host_logins(app_configs, **kwargs):
    """
    Warn about ``EMAIL_HOSTS`` entries that log in without TLS (W003), or
    with a password their provider is retiring (W011).
    """
    return [warning for host in settings_hosts() for warning in login_warnings(host)]
