"""
How each host's relay last answered, kept in the database so that every
process and the admin see it: written by checks and by real sends.
"""

import logging
import time

from django.apps import apps
from django.conf import settings
from django.db import router, transaction
from django.utils import timezone, translation

from email_hosts import conf, failures


logger = logging.getLogger("email_hosts")

#: A send that finds its host as this process last recorded it writes again
#: only after this many seconds, so that a busy host costs no write per send.
REFRESH_SECONDS = 60
#: Hosts whose last record this process remembers, at most.
REMEMBERED_HOSTS = 4096

_last_recorded = {}


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


def record(key, *, ok, message):
    """
    Store how connecting to host ``key`` went, with ``message`` saying so in
    one line. Never raises: a status that cannot be stored must not fail
    the send or the check that found it.
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
    try:
        # A savepoint: a failed write leaves the caller's transaction usable.
        with transaction.atomic(using=using):
            statuses = model.objects.using(using)
            if not statuses.filter(key=key).update(**values):
                statuses.create(key=key, **values)
    except Exception:  # Bookkeeping must never fail a send:
        # DatabaseError, or a test that forbids queries (SimpleTestCase).
        logger.warning(
            "Could not store the status of email host %r.", key, exc_info=True
        )


def record_send(key, *, ok, message):
    """
    :func:`record` for a real send, unless this process recorded the same
    for ``key`` less than :data:`REFRESH_SECONDS` ago.
    """
    last = _last_recorded.get(key)
    if (
        last
        and last[:2] == (ok, message)
        and time.monotonic() - last[2] < REFRESH_SECONDS
    ):
        return
    record(key, ok=ok, message=message)


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
