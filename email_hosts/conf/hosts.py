"""The settings that name the hosts, their fallback, timeouts and allowed relays."""

import math

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from email_hosts.conf.cache import read_once


#: Seconds a host without ``?timeout=`` waits for its relay.
DEFAULT_TIMEOUT = 10
#: The longest timeout a host may set: an hour. Sockets refuse much larger
#: values with OverflowError, long after a DSN was saved.
MAX_TIMEOUT = 3600
#: The ports an allowed relay without a port of its own may be reached on:
#: SMTP, implicit TLS, submission, and the submission port providers offer
#: where 587 is blocked.
MAIL_PORTS = (25, 465, 587, 2525)


@read_once
def app_installed():
    """
    Return whether ``email_hosts`` is in ``INSTALLED_APPS``: without it there
    is no table of stored hosts to ask.
    """
    return apps.is_installed("email_hosts")


@read_once
def email_hosts():
    """
    Return the ``EMAIL_HOSTS`` setting: host keys mapped to DSNs. Raise
    ``ImproperlyConfigured`` if it is no such dict.
    """
    value = getattr(settings, "EMAIL_HOSTS", {})
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS must be a dict of host keys to DSNs, not"
            f" {type(value).__name__}."
        )
    if bad_keys := [key for key in value if not isinstance(key, str)]:
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS: every key must be a string; {bad_keys[0]!r} is a"
            f" {type(bad_keys[0]).__name__}."
        )
    return value


@read_once
def mailers():
    """Return Django 6.1's ``MAILERS`` setting, or an empty dict without it."""
    return getattr(settings, "MAILERS", {})


@read_once
def routing_fallback():
    """
    Return ``EMAIL_HOSTS_FALLBACK``: the key of the host for mail whose sender
    domain no host serves, or None for Django's default backend.
    """
    return getattr(settings, "EMAIL_HOSTS_FALLBACK", None)


@read_once
def default_timeout():
    """Return ``EMAIL_HOSTS_DEFAULT_TIMEOUT``, in seconds."""
    timeout = getattr(settings, "EMAIL_HOSTS_DEFAULT_TIMEOUT", DEFAULT_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_DEFAULT_TIMEOUT must be a number of seconds above 0 and"
            f" at most {MAX_TIMEOUT}, not {timeout!r}."
        )
    return timeout


@read_once
def allowed_relays():
    """
    Return ``EMAIL_HOSTS_ALLOWED_RELAYS`` as (host pattern, port) pairs: the
    relays stored hosts may use, with the port an entry names, or None for
    the mail ports (:data:`MAIL_PORTS`); or None (unset) for any relay.
    """
    patterns = getattr(settings, "EMAIL_HOSTS_ALLOWED_RELAYS", None)
    if patterns is None:
        return None
    if not isinstance(patterns, list | tuple) or not all(
        isinstance(pattern, str) and pattern for pattern in patterns
    ):
        raise ImproperlyConfigured(
            "EMAIL_HOSTS_ALLOWED_RELAYS must be a list of relay host names, such"
            " as ['smtp.example.com', '.example.org', 'relay.example.net:2526'],"
            " or None for any."
        )
    return tuple(
        _relay_pattern(index, pattern) for index, pattern in enumerate(patterns)
    )


def _relay_pattern(index, pattern):
    """Return an allowed relay entry as (host pattern, port or None)."""
    if pattern.startswith("["):  # An IPv6 address, perhaps with a port.
        host, _bracket, rest = pattern.partition("]")
        host, port = host + "]", rest.removeprefix(":") if rest else None
    elif pattern.count(":") == 1:
        host, port = pattern.split(":")
    else:  # A name, or an IPv6 address without brackets and port.
        host, port = pattern, None
    if port is None:
        return host, None
    if not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_ALLOWED_RELAYS[{index}]: {pattern!r} has no port from 1"
            f" to 65535 after ':'. Write 'smtp.example.com:587', or leave the port"
            f" out to allow the mail ports {', '.join(map(str, MAIL_PORTS))}."
        )
    return host, int(port)
