"""What an operator does to outbox messages: retry, resend, cancel, purge."""

import datetime

from django.db import router, transaction
from django.utils import timezone

from email_hosts import conf
from email_hosts.outbox.models import OutboxMessage, Status
from email_hosts.outbox.rates import forget_before


def _after_commit(queryset):
    # Only here: the admin imports this module, also on sites without the
    # tasks framework, which have no outbox messages to act on.
    from email_hosts.outbox.tasks import wake  # noqa: PLC0415

    transaction.on_commit(wake, using=queryset.db, robust=True)


def retry_now(queryset):
    """Make queued messages due now; return how many."""
    count = queryset.filter(status=Status.QUEUED).update(next_attempt_at=timezone.now())
    if count:
        _after_commit(queryset)
    return count


def resend(queryset):
    """
    Queue failed and uncertain messages again, a deliberate act: an
    uncertain one may reach its recipients twice. Recipients a relay refused
    for good are tried again too. Return how many.
    """
    count = 0
    with transaction.atomic(using=queryset.db):
        for row in queryset.select_for_update().filter(
            status__in=[Status.FAILED, Status.UNCERTAIN]
        ):
            row.pending_recipients = row.recipients
            row.refused_recipients = {}
            row.status = Status.QUEUED
            row.attempts = 0
            row.next_attempt_at = timezone.now()
            row.finished_at = None
            row.save()
            count += 1
        if count:
            _after_commit(queryset)
    return count


def cancel(queryset):
    """Cancel queued messages, which then never leave; return how many."""
    return queryset.filter(status=Status.QUEUED).update(
        status=Status.CANCELLED, finished_at=timezone.now()
    )


def purge(*, now=None):
    """
    Delete sent and cancelled messages that finished more than
    ``EMAIL_HOSTS_OUTBOX['RETENTION_DAYS']`` ago; return how many.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=conf.outbox().RETENTION_DAYS)
    messages = OutboxMessage.objects.using(router.db_for_write(OutboxMessage))
    deleted, _by_model = messages.filter(
        status__in=[Status.SENT, Status.CANCELLED], finished_at__lt=cutoff
    ).delete()
    # The longest rate window is a day; older ones count nothing.
    forget_before(now - datetime.timedelta(days=2))
    return deleted
