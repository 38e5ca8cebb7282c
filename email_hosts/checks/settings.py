"""Check the settings that say which relays there are and how to use them."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from email_hosts import conf, hosts
from email_hosts.checks.base import TAG, setting_errors


@checks.register(TAG)
def check_email_hosts_setting(app_configs, **kwargs):
    """Report every ``EMAIL_HOSTS`` entry that does not parse (E001, E002)."""
    try:
        email_hosts = conf.email_hosts()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="For example EMAIL_HOSTS = {'shop': 'submission://...'}.",
                id="email_hosts.E002",
            )
        ]
    errors = []
    for key, dsn in email_hosts.items():
        try:
            hosts.transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    str(exc),
                    hint="Fix the DSN; the configuration docs list what it takes.",
                    id="email_hosts.E001",
                )
            )
    return errors


@checks.register(TAG)
def check_default_timeout(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_DEFAULT_TIMEOUT`` that is not a positive number (E003)."""
    return setting_errors(
        conf.default_timeout,
        hint="Set it to the seconds a host may take, such as 10.",
        check_id="email_hosts.E003",
    )


@checks.register(TAG)
def check_connection_reuse_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_CONNECTION_REUSE`` that sets no limits (E014)."""
    return setting_errors(
        conf.connection_reuse,
        hint="Write True, False, or a dict such as {'IDLE_TIMEOUT': 5}.",
        check_id="email_hosts.E014",
    )


@checks.register(TAG)
def check_pipelining_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_PIPELINING`` that is not a bool (E015)."""
    return setting_errors(
        conf.pipelining,
        hint="Leave it unset, or write False for a relay that offers"
        " PIPELINING but mishandles it.",
        check_id="email_hosts.E015",
    )
