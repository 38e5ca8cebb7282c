"""The settings of the outbox: how it keeps, claims, retries and paces messages."""

import dataclasses

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from email_hosts.conf.cache import read_once
from email_hosts.conf.options import is_seconds, read_options


#: Seconds between an outbox message's attempts after transient failures:
#: a minute, 5 minutes, half an hour, 2, 6 and 24 hours; then it fails.
DEFAULT_RETRY_DELAYS = (60, 300, 1800, 7200, 21600, 86400)
#: The windows a host's rate limits count in, by name, in seconds.
RATE_WINDOWS = {"MINUTE": 60, "HOUR": 3600, "DAY": 86400}
RATE_LIMIT_NAMES = tuple(
    f"{what}_PER_{window}"
    for what in ("MESSAGES", "RECIPIENTS")
    for window in RATE_WINDOWS
)
#: What ``EMAIL_HOSTS_RATE_LIMITS`` may set for a host: its rate limits, and
#: how many connections the outbox opens to it at once.
HOST_LIMIT_NAMES = (*RATE_LIMIT_NAMES, "MAX_CONNECTIONS")


@dataclasses.dataclass(frozen=True)
class Outbox:
    """How the outbox keeps and claims messages (``EMAIL_HOSTS_OUTBOX``)."""

    #: Days a delivered or cancelled message is kept before
    #: ``purgeoutbox`` deletes it.
    RETENTION_DAYS: float = 30
    #: Seconds a delivery run may spend on one message, however slowly a
    #: relay answers, before it stops beating and another run takes back
    #: what it holds. A run that dies is found out by its heartbeat
    #: (``WORKER_TIMEOUT_SECONDS``), not by this.
    CLAIM_SECONDS: float = 900
    #: Seconds without a heartbeat after which a delivery run counts as
    #: dead and another takes back what it held. A run beats every quarter
    #: of it, while it works, however long its batch takes; runs come back
    #: this often while messages wait, so that no crash strands them.
    WORKER_TIMEOUT_SECONDS: float = 20
    #: Messages one worker claims at once.
    BATCH_SIZE: int = 100
    #: Connections a run opens to one host at once, one for every ten of
    #: its messages: four pipelined connections keep up with a relay some
    #: milliseconds away. A host's ``MAX_CONNECTIONS`` in
    #: ``EMAIL_HOSTS_RATE_LIMITS`` sets its own.
    CONNECTIONS_PER_HOST: int = 4
    #: The alias in ``TASKS`` of the task backend that delivers.
    TASK_BACKEND: str = "default"
    #: The queue of that backend that delivery runs go to.
    QUEUE_NAME: str = "default"
    #: Seconds that due messages, or messages a dead run held, may wait
    #: with no delivery run before W012 warns.
    WORKER_SILENCE_SECONDS: float = 300
    #: The largest message, in bytes as sent (attachments base64-encoded,
    #: about 1.37 times their size), that ``OutboxBackend`` accepts; a larger
    #: one raises ``MessageTooLarge`` before anything is stored. 50 MiB: above
    #: the 25 to 35 MB that mail providers take.
    MAX_MESSAGE_BYTES: int = 50 * 1024 * 1024


@read_once
def outbox():
    """Return ``EMAIL_HOSTS_OUTBOX`` as :class:`Outbox`."""
    value = getattr(settings, "EMAIL_HOSTS_OUTBOX", {})
    return read_options("EMAIL_HOSTS_OUTBOX", value, Outbox)


@read_once
def retry_delays():
    """
    Return ``EMAIL_HOSTS_RETRY_DELAYS``: the seconds an outbox message waits
    before each retry; its length is how many retries it gets.
    """
    delays = getattr(settings, "EMAIL_HOSTS_RETRY_DELAYS", DEFAULT_RETRY_DELAYS)
    if not isinstance(delays, list | tuple) or not all(map(is_seconds, delays)):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_RETRY_DELAYS must be a list of seconds to wait before"
            f" each retry, such as [60, 300, 1800], or [] for no retries, not"
            f" {delays!r}."
        )
    return tuple(delays)


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
        if not isinstance(limits, dict) or not set(limits) <= set(HOST_LIMIT_NAMES):
            raise ImproperlyConfigured(
                f"EMAIL_HOSTS_RATE_LIMITS[{key!r}] must be a dict with some of"
                f" {', '.join(HOST_LIMIT_NAMES)}, not {limits!r}."
            )
        for name, limit in limits.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ImproperlyConfigured(
                    f"EMAIL_HOSTS_RATE_LIMITS[{key!r}][{name!r}] must be a whole"
                    f" number above 0, not {limit!r}."
                )
    return value


def connections_per_host(key):
    """Return how many connections the outbox may open to host ``key`` at once."""
    limits = rate_limits().get(key, {})
    return limits.get("MAX_CONNECTIONS", outbox().CONNECTIONS_PER_HOST)
