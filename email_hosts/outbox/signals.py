"""Fixing a host releases what the outbox holds for it."""

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.utils import timezone

from email_hosts import status
from email_hosts.outbox.models import OutboxMessage, Status


def release_queue(sender, instance, **kwargs):
    """
    When a host is saved (new credentials, a new relay), stop skipping it
    and make the messages that wait for it due now.
    """
    key = instance.key
    status.resume(key)
    waiting = OutboxMessage.objects.filter(
        Q(host_key=key) | Q(routed_to=key),
        status=Status.QUEUED,
        next_attempt_at__gt=timezone.now(),
    )
    if waiting.update(next_attempt_at=timezone.now()):
        # Only now: queued messages mean the tasks framework is installed.
        from email_hosts.outbox.tasks import wake  # noqa: PLC0415

        transaction.on_commit(wake, robust=True)


post_save.connect(
    release_queue, sender="email_hosts.EmailHost", dispatch_uid="email_hosts.outbox"
)
