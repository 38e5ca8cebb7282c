"""The settings django-email-hosts reads, with their defaults written once."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


#: Seconds a host without ``?timeout=`` waits for its relay.
DEFAULT_TIMEOUT = 10


def email_hosts():
    """Return the ``EMAIL_HOSTS`` setting: host keys mapped to DSNs."""
    return getattr(settings, "EMAIL_HOSTS", {})


def default_timeout():
    """Return ``EMAIL_HOSTS_DEFAULT_TIMEOUT``, in seconds."""
    timeout = getattr(settings, "EMAIL_HOSTS_DEFAULT_TIMEOUT", DEFAULT_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or timeout <= 0
    ):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_DEFAULT_TIMEOUT must be a positive number of seconds,"
            f" not {timeout!r}."
        )
    return timeout


def mailers():
    """Return Django 6.1's ``MAILERS`` setting, or an empty dict without it."""
    return getattr(settings, "MAILERS", {})


def routing_fallback():
    """
    Return ``EMAIL_HOSTS_FALLBACK``: the key of the host for mail whose sender
    domain no host serves, or None for Django's default backend.
    """
    return getattr(settings, "EMAIL_HOSTS_FALLBACK", None)
