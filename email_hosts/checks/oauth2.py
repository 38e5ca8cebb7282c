"""Check that the hosts that log in with OAuth2 can fetch their tokens."""

from django.core import checks

from email_hosts.checks.base import TAG, settings_hosts
from email_hosts.oauth2 import client


@checks.register(TAG)
def check_oauth2_extra_for_settings_hosts(app_configs, **kwargs):
    """
    Report each ``EMAIL_HOSTS`` host that needs the missing ``oauth`` extra
    (E020); ``check_stored_hosts`` reports the stored ones.
    """
    return [error for host in settings_hosts() for error in missing_extra_errors(host)]


def missing_extra_errors(host):
    """Return E020 if ``host`` logs in with OAuth2 and the extra is missing."""
    if not host.transport.oauth2 or client.installed():
        return []
    return [
        checks.Error(
            f"Email host {host.key!r} ({host.source}) logs in with OAuth2, but"
            " the oauth extra (Authlib, over requests) is not installed, so it"
            " sends nothing.",
            hint='Install it: pip install "django-email-hosts[oauth]".',
            id="email_hosts.E020",
        )
    ]
