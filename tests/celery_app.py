"""
The Celery app of the tests' Celery workers (``celery -A tests.celery_app
worker``), configured from the ``CELERY_`` settings, as a site's is.
"""

from celery import Celery, signals


app = Celery("email_hosts_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")


@signals.import_modules.connect(sender=app)
def _register_outbox_task(**kwargs):
    """
    Make the outbox's task known to the worker, after Django's setup.
    django-tasks-celery registers a task with Celery only when a backend of
    its own validates it: at import where it is ``TASKS['default']``, and
    here, where the outbox uses another alias, not until this.
    """
    from django.conf import settings  # noqa: PLC0415 -- after django.setup()

    from email_hosts.outbox.tasks import deliver_outbox  # noqa: PLC0415

    deliver_outbox.using(backend="celery", queue_name=settings.CELERY_QUEUE)
