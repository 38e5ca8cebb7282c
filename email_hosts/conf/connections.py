"""Settings for connections to relays: reuse, pipelining, pauses after failure."""

import dataclasses

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from email_hosts.conf.cache import read_once
from email_hosts.conf.options import is_seconds, read_options


#: Seconds a throttled relay is left alone when EMAIL_HOSTS_FAILED_HOST_PAUSE
#: is 0.
DEFAULT_THROTTLE_PAUSE = 60


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


_DEFAULT_REUSE = ConnectionReuse()


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
    return read_options(
        "EMAIL_HOSTS_CONNECTION_REUSE", value, ConnectionReuse, also="True, False or "
    )


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


@read_once
def failed_host_pause():
    """
    Return ``EMAIL_HOSTS_FAILED_HOST_PAUSE``: the seconds every process skips
    a host that failed to connect or log in, where a backup can send; 0 for
    never.
    """
    seconds = getattr(settings, "EMAIL_HOSTS_FAILED_HOST_PAUSE", 60)
    if not is_seconds(seconds):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_FAILED_HOST_PAUSE must be a number of seconds, 0 or"
            f" more, not {seconds!r}."
        )
    return seconds
