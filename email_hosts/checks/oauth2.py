"""Check that the hosts that log in with OAuth2 can fetch their tokens."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from email_hosts import conf, hosts
from email_hosts.checks.base import TAG, stored_hosts
from email_hosts.oauth2 import client


def _hosts_in_settings():
    try:
        keys = list(conf.email_hosts())
    except ImproperlyConfigured:
        return  # E002 reports it.
    for key in keys:
        try:
            yield hosts.from_settings(key)
        except ImproperlyConfigured:
            continue  # E001 reports it.


def _hosts_in(databases):
    for queryset in stored_hosts(databases):
        for row in queryset:
            try:
                yield hosts.from_row(row)
            except ImproperlyConfigured:
                continue  # E005, E006 or E011 reports it.


@checks.register(TAG)
def check_oauth2_extra_for_settings_hosts(app_configs, **kwargs):
    """Report each ``EMAIL_HOSTS`` host that needs the missing extra (E020)."""
    return _missing_extra(_hosts_in_settings())


@checks.register(TAG, checks.Tags.database)
def check_oauth2_extra_for_stored_hosts(app_configs, databases=None, **kwargs):
    """Report each stored host that needs the missing extra (E020)."""
    return _missing_extra(_hosts_in(databases or []))


def _missing_extra(hosts_to_check):
    """Return E020 for each host of ``hosts_to_check`` that logs in with OAuth2."""
    if client.installed():
        return []
    return [
        checks.Error(
            f"Email host {host.key!r} ({host.source}) logs in with OAuth2, but"
            " the oauth extra (Authlib, over requests) is not installed, so it"
            " sends nothing.",
            hint='Install it: pip install "django-email-hosts[oauth]".',
            id="email_hosts.E020",
        )
        for host in hosts_to_check
        if host.transport.oauth2
    ]
