"""Check which relays the hosts stored in the admin may be pointed at."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from email_hosts import conf
from email_hosts.checks.base import TAG, setting_errors


@checks.register(TAG)
def check_allowed_relays_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_ALLOWED_RELAYS`` that is no list of names (E012)."""
    return setting_errors(
        conf.allowed_relays,
        hint="A plain string is not a list: write ['smtp.example.com'].",
        check_id="email_hosts.E012",
    )


@checks.register(TAG, deploy=True)
def check_allowed_relays_set(app_configs, **kwargs):
    """Warn that whoever may re-point hosts can read the site's mail (W004)."""
    try:
        if settings.DEBUG or conf.allowed_relays() is not None:
            return []
    except ImproperlyConfigured:
        return []  # E012 reports it.
    return [
        checks.Warning(
            "EMAIL_HOSTS_ALLOWED_RELAYS is not set, so whoever may point email"
            " hosts at another relay in the admin (superusers, and users granted"
            " that permission) can point one at their own server and read the"
            " mail it sends, password resets included.",
            hint="Set it to the relays your hosts use, such as"
            " ['smtp.example.com', '.example.org']. See 'Who can read the mail'"
            " in the security docs.",
            id="email_hosts.W004",
        )
    ]
