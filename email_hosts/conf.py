"""The settings django-email-hosts reads, with their defaults written once."""

import dataclasses
import functools
import math

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed


#: Seconds a host without ``?timeout=`` waits for its relay.
DEFAULT_TIMEOUT = 10
#: The longest timeout a host may set: an hour. Sockets refuse much larger
#: values with OverflowError, long after a DSN was saved.
MAX_TIMEOUT = 3600

_readers = []


def read_once(reader):
    """
    Cache what ``reader`` returns: each send asks several settings, and a
    missing one costs Django an exception per read. ``override_settings``
    (the ``setting_changed`` signal) makes every reader read again; a value
    that raises is not cached, so it raises on every use.
    """
    cached = functools.cache(reader)
    _readers.append(cached)
    return cached


def _forget_settings(**kwargs):
    for reader in _readers:
        reader.cache_clear()


setting_changed.connect(_forget_settings, dispatch_uid="email_hosts.conf")


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


#: The ports an allowed relay without a port of its own may be reached on:
#: SMTP, implicit TLS, submission, and the submission port providers offer
#: where 587 is blocked.
MAIL_PORTS = (25, 465, 587, 2525)


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
def token_cache():
    """
    Return ``EMAIL_HOSTS_TOKEN_CACHE``: the alias of the cache in ``CACHES``
    that shares OAuth2 access tokens between processes, or None for none.
    """
    alias = getattr(settings, "EMAIL_HOSTS_TOKEN_CACHE", "default")
    if alias is not None and not isinstance(alias, str):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_TOKEN_CACHE must be the alias of a cache in CACHES,"
            f" such as 'default', or None, not {alias!r}."
        )
    return alias


@dataclasses.dataclass(frozen=True)
class ConnectionReuse:
    """How long and how often a connection to a relay is used again."""

    #: Seconds a connection may wait for the next send: below the idle
    #: timeouts of common relays (Postfix drops idle clients after 10
    #: seconds when it is under stress), so a kept connection is rarely dead.
    IDLE_TIMEOUT: float = 5
    #: Seconds after its login that a connection is no longer used again.
    MAX_AGE: float = 300
    #: Messages one connection sends before it is closed.
    MAX_MESSAGES: int = 100
    #: Connections this process keeps open at most, one per host.
    MAX_IDLE_CONNECTIONS: int = 16


@read_once
def connection_reuse():
    """
    Return ``EMAIL_HOSTS_CONNECTION_REUSE`` as :class:`ConnectionReuse`, or
    None if it is ``False``: connections are then closed after each send.
    """
    value = getattr(settings, "EMAIL_HOSTS_CONNECTION_REUSE", True)
    if value is True:
        return _DEFAULT_REUSE
    if value is False:
        return None
    return _options(
        "EMAIL_HOSTS_CONNECTION_REUSE", value, ConnectionReuse, also="True, False or "
    )


def _seconds(value):
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value >= 0
    )


def _options(setting, value, options_class, *, also=""):
    """
    Return the dict ``value`` of ``setting`` as ``options_class``, a
    dataclass of its options, each a number above 0 or a non-empty string
    by its type. Raise ``ImproperlyConfigured`` naming what is wrong.
    """
    fields = {field.name: field.type for field in dataclasses.fields(options_class)}
    if not isinstance(value, dict) or not set(value) <= set(fields):
        raise ImproperlyConfigured(
            f"{setting} must be {also}a dict with some of {', '.join(fields)},"
            f" not {value!r}."
        )
    for name, option in value.items():
        if fields[name] is str:
            valid, expected = isinstance(option, str) and option, "a non-empty string"
        else:
            # An int option takes no fraction; a float one takes an int too.
            valid = isinstance(option, fields[name] | int) and _seconds(option)
            valid, expected = valid and option > 0, "a number above 0"
        if not valid:
            raise ImproperlyConfigured(
                f"{setting}[{name!r}] must be {expected}, not {option!r}."
            )
    return options_class(**value)


_DEFAULT_REUSE = ConnectionReuse()


@read_once
def pipelining():
    """
    Return ``EMAIL_HOSTS_PIPELINING``: whether to pipeline SMTP commands
    (RFC 2920) with relays that offer it.
    """
    value = getattr(settings, "EMAIL_HOSTS_PIPELINING", True)
    if not isinstance(value, bool):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_PIPELINING must be True or False, not {value!r}."
        )
    return value


#: Seconds between an outbox message's attempts after transient failures:
#: a minute, 5 minutes, half an hour, 2, 6 and 24 hours; then it fails.
DEFAULT_RETRY_DELAYS = (60, 300, 1800, 7200, 21600, 86400)


@read_once
def retry_delays():
    """
    Return ``EMAIL_HOSTS_RETRY_DELAYS``: the seconds an outbox message waits
    before each retry; its length is how many retries it gets.
    """
    delays = getattr(settings, "EMAIL_HOSTS_RETRY_DELAYS", DEFAULT_RETRY_DELAYS)
    if not isinstance(delays, list | tuple) or not all(map(_seconds, delays)):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_RETRY_DELAYS must be a list of seconds to wait before"
            f" each retry, such as [60, 300, 1800], or [] for no retries, not"
            f" {delays!r}."
        )
    return tuple(delays)


@dataclasses.dataclass(frozen=True)
class Outbox:
    """How the outbox keeps and claims messages (``EMAIL_HOSTS_OUTBOX``)."""

    #: Days a delivered or cancelled message is kept before
    #: ``purgeoutbox`` deletes it.
    RETENTION_DAYS: float = 30
    #: Seconds a worker may hold a claimed message before another takes it
    #: back: longer than a batch can take to send.
    CLAIM_SECONDS: float = 900
    #: Messages one worker claims at once, sent over one connection per host.
    BATCH_SIZE: int = 100
    #: The alias in ``TASKS`` of the task backend that delivers.
    TASK_BACKEND: str = "default"
    #: The queue of that backend that delivery runs go to.
    QUEUE_NAME: str = "default"
    #: Seconds without a worker, while messages wait, before W012 warns.
    WORKER_SILENCE_SECONDS: float = 900


@read_once
def outbox():
    """Return ``EMAIL_HOSTS_OUTBOX`` as :class:`Outbox`."""
    value = getattr(settings, "EMAIL_HOSTS_OUTBOX", {})
    return _options("EMAIL_HOSTS_OUTBOX", value, Outbox)


@read_once
def failed_host_pause():
    """
    Return ``EMAIL_HOSTS_FAILED_HOST_PAUSE``: the seconds every process skips
    a host that failed to connect or log in, where a backup can send; 0 for
    never.
    """
    seconds = getattr(settings, "EMAIL_HOSTS_FAILED_HOST_PAUSE", 60)
    if not _seconds(seconds):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_FAILED_HOST_PAUSE must be a number of seconds, 0 or"
            f" more, not {seconds!r}."
        )
    return seconds


#: The windows a host's rate limits count in, by name, in seconds.
RATE_WINDOWS = {"MINUTE": 60, "HOUR": 3600, "DAY": 86400}
RATE_LIMIT_NAMES = tuple(
    f"{what}_PER_{window}"
    for what in ("MESSAGES", "RECIPIENTS")
    for window in RATE_WINDOWS
)


@read_once
def rate_limits():
    """
    Return ``EMAIL_HOSTS_RATE_LIMITS``: for host keys, how many messages and
    recipients the outbox sends through them per minute, hour and day, such
    as ``{"shop": {"MESSAGES_PER_MINUTE": 30, "RECIPIENTS_PER_DAY": 10000}}``.
    """
    value = getattr(settings, "EMAIL_HOSTS_RATE_LIMITS", {})
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_RATE_LIMITS must be a dict of host keys to limits,"
            f" not {type(value).__name__}."
        )
    for key, limits in value.items():
        if not isinstance(limits, dict) or not set(limits) <= set(RATE_LIMIT_NAMES):
            raise ImproperlyConfigured(
                f"EMAIL_HOSTS_RATE_LIMITS[{key!r}] must be a dict with some of"
                f" {', '.join(RATE_LIMIT_NAMES)}, not {limits!r}."
            )
        for name, limit in limits.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ImproperlyConfigured(
                    f"EMAIL_HOSTS_RATE_LIMITS[{key!r}][{name!r}] must be a whole"
                    f" number above 0, not {limit!r}."
                )
    return value


#: Seconds a throttled relay is left alone when EMAIL_HOSTS_FAILED_HOST_PAUSE
#: is 0.
DEFAULT_THROTTLE_PAUSE = 60
