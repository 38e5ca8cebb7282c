"""
How each host's relay last answered, kept in the database so that every
process and the admin see it: written by checks and by real sends.
"""

import datetime
import logging
import math
import time

from django.apps import apps
from django.conf import settings
from django.db import router, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone, translation

from email_hosts import conf
from email_hosts.smtp import failures


logger = logging.getLogger("email_hosts")

#: A send that finds its host as this process last recorded it writes again
#: only after this many seconds, so that a busy host costs no write per send.
REFRESH_SECONDS = 60
#: Hosts whose last record this process remembers, at most.
REMEMBERED_HOSTS = 4096

_last_recorded = {}

#: Sent with ``key`` when a host works again before its messages' retries
#: come due: it was saved, a check or a send got through after a failure,
#: or an operator asked to retry now. The outbox then sends what waited.
resumed = Signal()


def _model():
    return apps.get_model("email_hosts", "HostStatus")


def failure_reason(exc, *, host, port, timeout):
    """
    Return why connecting to ``host``:``port`` failed, worded to be kept: in
    the site's language (``LANGUAGE_CODE``), which every process and every
    admin reads, whatever the language of the request that found it.
    """
    with translation.override(settings.LANGUAGE_CODE):
        return failures.explain(exc, host=host, port=port, timeout=timeout)


def record(key, *, ok, message, paused_until=None):
    """
    Store how connecting to host ``key`` went, with ``message`` saying so in
    one line, and for a failure, until when every process should skip the
    host where another can send (``paused_until``). Never raises: a status
    that cannot be stored must not fail the send or the check that found it.
    """
    if not conf.app_installed():
        return
    _remember(key, (ok, message, time.monotonic()))
    model = _model()
    using = router.db_for_write(model)
    values = {
        "ok": ok,
        "message": message[: model._meta.get_field("message").max_length],
        "checked_at": timezone.now(),
    }
    if ok:
        values["paused_until"] = None  # It works again: nobody skips it.
    elif paused_until is not None:
        values["paused_until"] = paused_until
    try:
        # A savepoint: a failed write leaves the caller's transaction usable.
        with transaction.atomic(using=using):
            statuses = model.objects.using(using)
            failing = statuses.filter(key=key).filter(
                Q(paused_until__gt=timezone.now()) | Q(ok=False)
            )
            ended_a_pause = ok and failing.update(**values)
            if not ended_a_pause and not statuses.filter(key=key).update(**values):
                statuses.create(key=key, **values)
    except Exception:  # Bookkeeping must never fail a send:
        # DatabaseError, or a test that forbids queries (SimpleTestCase).
        logger.warning(
            "Could not store the status of email host %r.", key, exc_info=True
        )
        return
    if ended_a_pause:
        resumed.send(sender=model, key=key)


def record_send(key, *, ok, message):
    """
    :func:`record` for a real send, unless this process recorded the same
    for ``key`` less than :data:`REFRESH_SECONDS` ago. A transient failure
    pauses the host for ``EMAIL_HOSTS_FAILED_HOST_PAUSE`` seconds.
    """
    pause = 0 if ok else conf.failed_host_pause()
    last = _last_recorded.get(key)
    if (
        last
        and last[:2] == (ok, message)
        # A pause is renewed before it ends, while the host keeps failing.
        and time.monotonic() - last[2] < min(REFRESH_SECONDS, pause / 2 or math.inf)
    ):
        return
    paused_until = timezone.now() + datetime.timedelta(seconds=pause) if pause else None
    record(key, ok=ok, message=message, paused_until=paused_until)


def paused(keys):
    """
    Return, for those of ``keys`` that a process paused after a failure,
    until when: one query, which every process shares.
    """
    if not conf.app_installed():
        return {}
    try:
        return dict(
            _model()
            .objects.filter(key__in=keys, paused_until__gt=timezone.now())
            .values_list("key", "paused_until")
        )
    except Exception:  # Like record(): health is advice, never a failure.
        logger.warning("Could not read which email hosts are paused.", exc_info=True)
        return {}


def _remember(key, entry):
    _last_recorded.pop(key, None)
    _last_recorded[key] = entry
    if len(_last_recorded) > REMEMBERED_HOSTS:
        del _last_recorded[next(iter(_last_recorded))]


def forget(key=None):
    """
    Forget what this process recorded for ``key``, or for every host, so
    that the next attempt is written whatever it finds.
    """
    if key is None:
        _last_recorded.clear()
    else:
        _last_recorded.pop(key, None)


def of(keys):
    """Return the stored statuses of ``keys`` by key, in one query."""
    return {status.key: status for status in _model().objects.filter(key__in=keys)}


def resume(key):
    """
    Stop skipping host ``key``: it changed, or an operator wants its mail
    out now, so its last failure says nothing about it now. Never raises,
    like :func:`record`.
    """
    forget(key)
    if not conf.app_installed():
        return
    try:
        _model().objects.filter(key=key).update(paused_until=None)
    except Exception:  # Bookkeeping must never fail a save.
        logger.warning("Could not resume email host %r.", key, exc_info=True)
        return
    resumed.send(sender=_model(), key=key)


def resume_all():
    """
    Stop skipping every host paused or last found failing, and have what
    waits for them sent now, as an operator who runs the outbox by hand.
    """
    failing = _model().objects.filter(Q(paused_until__gt=timezone.now()) | Q(ok=False))
    for key in failing.values_list("key", flat=True):
        resume(key)
