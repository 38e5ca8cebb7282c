"""
Per-host rate limits (``EMAIL_HOSTS_RATE_LIMITS``), counted in the database
so that every worker shares them: a message is sent only if it fits in the
current minute, hour and day of its host.
"""

import contextlib
import datetime

from django.db import IntegrityError, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from email_hosts import conf
from email_hosts.outbox.models import RateWindow


class _Full(Exception):
    def __init__(self, until, limit):
        super().__init__(limit)
        self.until = until
        self.limit = limit


def reserve(key, recipients, *, now=None):
    """
    Count one message to ``recipients`` recipients against host ``key``'s
    limits, and return None; or count nothing and return until when it
    must wait and which limit it reached. A message with more recipients
    than a limit allows still goes, alone in its window.
    """
    limits = conf.rate_limits().get(key)
    if not limits:
        return None
    now = now or timezone.now()
    windows = RateWindow.objects.using(router.db_for_write(RateWindow))
    try:
        with transaction.atomic(using=windows.db):
            for window, seconds in conf.RATE_WINDOWS.items():
                _take(
                    windows,
                    key=key,
                    window=window,
                    seconds=seconds,
                    limits=limits,
                    recipients=recipients,
                    now=now,
                )
    except _Full as full:
        return full.until, full.limit
    return None


def _take(windows, *, key, window, seconds, limits, recipients, now):  # noqa: PLR0913 -- one window's arguments
    max_messages = limits.get(f"MESSAGES_PER_{window}")
    max_recipients = limits.get(f"RECIPIENTS_PER_{window}")
    if max_messages is None and max_recipients is None:
        return
    epoch = int(now.timestamp()) // seconds * seconds
    starts_at = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    fits = Q()
    if max_messages is not None:
        fits &= Q(messages__lt=max_messages)
    if max_recipients is not None:
        fits &= Q(recipients__lte=max_recipients - recipients) | Q(recipients=0)
    this_window = windows.filter(key=key, window=window, starts_at=starts_at)
    # Count first, read after: on SQLite, a transaction that reads before
    # it writes fails at once ("database is locked") when another worker
    # writes at the same time, where one that writes first waits its turn.
    count = {"messages": F("messages") + 1, "recipients": F("recipients") + recipients}
    if this_window.filter(fits).update(**count):
        return
    if not this_window.exists():  # The window's first message.
        _open_window(windows, key=key, window=window, starts_at=starts_at)
    # Again, whether this run or another opened the window since: another
    # connection may have opened it between the first update and the look.
    if this_window.filter(fits).update(**count):
        return
    limit = (
        f"{max_messages} messages" if max_messages is not None else ""
    ) or f"{max_recipients} recipients"
    raise _Full(
        starts_at + datetime.timedelta(seconds=seconds), f"{limit} a {window.lower()}"
    )


def _open_window(windows, **fields):
    """Create a window's row, unless another worker just did."""
    with contextlib.suppress(IntegrityError), transaction.atomic(using=windows.db):
        windows.create(**fields)


def forget_before(moment):
    """Delete the windows that started before ``moment``; return how many."""
    return RateWindow.objects.filter(starts_at__lt=moment).delete()[0]
