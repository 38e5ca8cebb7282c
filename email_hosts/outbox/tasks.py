"""The outbox's task on Django's tasks framework, and how it is enqueued."""

import datetime
import functools
import math
import threading
import time

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import router, transaction
from django.utils import timezone

from email_hosts import conf
from email_hosts.outbox.delivery import deliver_due


try:
    from django.tasks import task, task_backends
except ImportError:  # Django < 6.0
    try:
        from django_tasks import task, task_backends
    except ImportError:
        raise ImproperlyConfigured(
            "The outbox needs Django's tasks framework, which Django 5.2 lacks:"
            " install django-email-hosts[outbox] for the django-tasks backport."
        ) from None


@task
def deliver_outbox():
    """Deliver every outbox message that is due; return how many were sent."""
    return deliver_due(schedule=schedule_run)


class _Scheduled:
    """The runs this process enqueued for later, by when they start."""

    lock = threading.Lock()
    times = []


def schedule_run(when):
    """
    Have a delivery run start at ``when`` (a datetime), unless one this
    process enqueued starts earlier and still in the future: every run
    schedules the next when it starts and when it ends, so that one
    leads to the other.
    """
    now = timezone.now()
    with _Scheduled.lock:
        _Scheduled.times = [at for at in _Scheduled.times if at > now]
        if any(at <= when for at in _Scheduled.times):
            return
    wake(run_after=when)
    with _Scheduled.lock:
        _Scheduled.times.append(when)


def wake(run_after=None):
    """
    Enqueue a delivery run on ``EMAIL_HOSTS_OUTBOX['TASK_BACKEND']`` and its
    ``QUEUE_NAME``, or with ``run_after`` (a datetime) one at that time,
    where the backend can defer tasks; where it cannot, the next run finds
    the message due.
    """
    options = conf.outbox()
    alias = options.TASK_BACKEND
    deliver = deliver_outbox.using(backend=alias, queue_name=options.QUEUE_NAME)
    if run_after is not None:
        if not task_backends[alias].supports_defer:
            return
        deliver = deliver.using(run_after=run_after)
    deliver.enqueue()


class _Window:
    """The runs this process enqueued for new mail in the current second."""

    lock = threading.Lock()
    ends = -math.inf
    deferred = False


#: Seconds in which a process enqueues at most two runs for new mail: one
#: at once, and one at the window's end for what the first may miss.
COALESCE_SECONDS = 1.0


def wake_for_new_mail(*, using):
    """
    Have new mail, being committed on database ``using``, delivered: with a
    run now, unless one was enqueued less than :data:`COALESCE_SECONDS` ago,
    then with one at the end of that window, once; a burst of sends costs
    two runs, not one each. Where the task queue lives in the same database
    (django-tasks-db), the first run is enqueued in the caller's transaction,
    so that it commits, or rolls back, with the mail; the others on commit.
    """
    backend = task_backends[conf.outbox().TASK_BACKEND]
    enqueue = functools.partial(transaction.on_commit, using=using, robust=True)
    if _queues_in(backend, using):
        enqueue = _call_now
    if not backend.supports_defer:
        enqueue(wake)  # Nothing to coalesce with (the immediate backend).
        return
    with _Window.lock:
        now = time.monotonic()
        first = now >= _Window.ends
        if first:
            _Window.ends, _Window.deferred = now + COALESCE_SECONDS, False
        elif _Window.deferred:
            return
        ends = _Window.ends
    if first:
        enqueue(wake)
        return
    run_after = timezone.now() + datetime.timedelta(seconds=ends - now)
    # On commit, whatever the backend: the window counts its deferred run
    # only once it exists, so a rolled-back send leaves it to the next.
    transaction.on_commit(
        functools.partial(_wake_at_window_end, run_after, ends),
        using=using,
        robust=True,
    )


def _wake_at_window_end(run_after, ends):
    wake(run_after=run_after)
    with _Window.lock:
        if _Window.ends == ends:
            _Window.deferred = True


def _call_now(function):
    function()


def _queues_in(backend, using):
    """Return whether ``backend`` is django-tasks-db storing tasks in ``using``."""
    if type(backend).__module__.partition(".")[0] != "django_tasks_db":
        return False
    results = apps.get_model("django_tasks_database", "DBTaskResult")
    return router.db_for_write(results) == using
