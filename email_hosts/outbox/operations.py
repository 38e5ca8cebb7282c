"""What an operator does to outbox messages: retry, resend, cancel, purge."""

import datetime

from django.db import router, transaction
from django.db.models import Q
from django.utils import timezone

from email_hosts import conf
from email_hosts.hosts import status
from email_hosts.outbox.models import OutboxMessage, Status, unreadable
from email_hosts.outbox.rates import forget_before


def _after_commit(queryset):
    # Only here: the admin imports this module, also on sites without the
    # tasks framework, which have no outbox messages to act on.
    from email_hosts.outbox.tasks import wake  # noqa: PLC0415

    transaction.on_commit(wake, using=queryset.db, robust=True)


def retry_now(queryset):
    """
    Make queued messages due now, and end the pauses of the hosts they wait
    for: an operator who asks knows the relay is back. Return how many.
    """
    queued = queryset.filter(status=Status.QUEUED)
    hosts = {
        key for keys in queued.values_list("routed_to", "host_key") for key in keys
    }
    count = queued.update(next_attempt_at=timezone.now())
    for key in sorted(hosts - {""}):
        status.resume(key)
    if count:
        _after_commit(queryset)
    return count


#: The messages an operator may send again.
RESENDABLE = (Status.FAILED, Status.UNCERTAIN, Status.HELD)


def not_accepted(row):
    """
    Return the recipients of a failed or uncertain message that no relay
    has accepted it for: those still pending (for an uncertain message, the
    ones whose answer was lost) and those refused.
    """
    waiting = set(row.pending_recipients) | set(row.refused_recipients)
    return [recipient for recipient in row.recipients if recipient in waiting]


def resend(queryset, *, to_all=False):
    """
    Queue failed and uncertain messages again, a deliberate act: to the
    recipients no relay accepted them for, or with ``to_all`` to every
    recipient, again to those who got them. An uncertain message may reach
    its pending recipients twice. Return how many were queued.
    """
    count = 0
    with transaction.atomic(using=queryset.db):
        for row in queryset.select_for_update().filter(status__in=RESENDABLE):
            if unreadable(row):
                continue  # Until its key is back, it can go nowhere.
            recipients = row.recipients if to_all else not_accepted(row)
            if not recipients:
                continue
            row.pending_recipients = recipients
            row.refused_recipients = {}
            row.status = Status.QUEUED
            row.attempts = 0
            row.next_attempt_at = timezone.now()
            row.finished_at = None
            row.last_error = ""
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
    ``EMAIL_HOSTS_OUTBOX['RETENTION_DAYS']`` ago, and held ones (copied in
    by ``loaddata``) queued that long ago; return how many.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=conf.outbox().RETENTION_DAYS)
    messages = OutboxMessage.objects.using(router.db_for_write(OutboxMessage))
    _rows, by_model = messages.filter(
        Q(status__in=[Status.SENT, Status.CANCELLED], finished_at__lt=cutoff)
        | Q(status=Status.HELD, created_at__lt=cutoff)
    ).delete()
    deleted = by_model.get(OutboxMessage._meta.label, 0)  # Not their parts.
    # The longest rate window is a day; older ones count nothing.
    forget_before(now - datetime.timedelta(days=2))
    return deleted
