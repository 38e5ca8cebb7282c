"""The outbox's task on Django's tasks framework, and how it is enqueued."""

import logging

from django.core.exceptions import ImproperlyConfigured

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


logger = logging.getLogger("email_hosts")


@task
def deliver_outbox():
    """Deliver every outbox message that is due; return how many were sent."""
    return deliver_due(on_retry_scheduled=wake)


def wake(run_after=None):
    """
    Enqueue a delivery run on ``EMAIL_HOSTS_OUTBOX['TASK_BACKEND']`` and
    its ``QUEUE_NAME``, or with
    ``run_after`` (a datetime) one at that time, where the backend can defer
    tasks; where it cannot, the next run finds the message due.
    """
    options = conf.outbox()
    alias = options.TASK_BACKEND
    deliver = deliver_outbox.using(backend=alias, queue_name=options.QUEUE_NAME)
    if run_after is not None:
        if not task_backends[alias].supports_defer:
            return
        deliver = deliver.using(run_after=run_after)
    deliver.enqueue()
