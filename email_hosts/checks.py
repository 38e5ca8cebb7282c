"""System checks for the email host settings. Every ID is in docs/checks.rst."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from email_hosts import conf
from email_hosts.hosts import transport_from_dsn


@checks.register(checks.Tags.compatibility)
def check_email_hosts_setting(app_configs, **kwargs):
    """Report every ``EMAIL_HOSTS`` entry that does not parse (E001)."""
    hosts = conf.email_hosts()
    if not isinstance(hosts, dict):
        return [
            checks.Error(
                "EMAIL_HOSTS must be a dict of host keys to DSNs.",
                hint="For example EMAIL_HOSTS = {'shop': 'submission://...'}.",
                id="email_hosts.E002",
            )
        ]
    errors = []
    for key, dsn in hosts.items():
        try:
            transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    str(exc),
                    hint="Fix the DSN; the configuration docs list what it takes.",
                    id="email_hosts.E001",
                )
            )
    return errors


@checks.register(checks.Tags.compatibility)
def check_default_timeout(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_DEFAULT_TIMEOUT`` that is not a positive number (E003)."""
    try:
        conf.default_timeout()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="Set it to the seconds a host may take, such as 10.",
                id="email_hosts.E003",
            )
        ]
    return []
