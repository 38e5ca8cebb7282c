"""
Fixing a host, or finding it works again, releases what the outbox holds
for it; messages and pauses that arrive by ``loaddata`` do nothing by
themselves.
"""

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from email_hosts.hosts import status
from email_hosts.outbox.models import OutboxMessage, Status


def resume_host(sender, instance, **kwargs):
    """A saved host (new credentials, a new relay) is tried again at once."""
    status.resume(instance.key)


def release_queue(sender, key, **kwargs):
    """
    When a host's pause ends before its time, make the messages that wait
    for it due now, and have a run deliver them.
    """
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
    resume_host, sender="email_hosts.EmailHost", dispatch_uid="email_hosts.outbox"
)
status.resumed.connect(release_queue, dispatch_uid="email_hosts.outbox.resumed")


#: What a message copied in from another database says it waits for.
HELD_BY_LOADDATA = (
    "This message arrived by loaddata, a copy from another database, and is"
    " never sent by itself: resend it if it must leave from this site."
)
#: The statuses of messages a worker would still send.
_ON_THEIR_WAY = (Status.QUEUED, Status.CLAIMED, Status.SENDING)


def hold_loaded_messages(sender, instance, *, raw=False, **kwargs):
    """
    Hold an outbox message that ``loaddata`` writes while it is queued or on
    its way: a production fixture loaded into staging must never deliver
    its mail again from there without an operator's say.
    """
    if raw and instance.status in _ON_THEIR_WAY:
        instance.status = Status.HELD
        instance.claimed_by, instance.claimed_at = "", None
        instance.last_error = HELD_BY_LOADDATA


def clear_loaded_pauses(sender, instance, *, raw=False, **kwargs):
    """A host's pause copied from another database says nothing about this one."""
    if raw:
        instance.paused_until = None


def drop_loaded_bookkeeping(sender, instance, *, raw=False, **kwargs):
    """
    Drop a worker's heartbeat or a rate window that ``loaddata`` wrote: a
    copied heartbeat would hide that no worker runs here (W012), and a
    copied window would count another site's mail against this one's limits.
    """
    if raw:
        sender.objects.filter(pk=instance.pk).delete()


pre_save.connect(
    hold_loaded_messages,
    sender="email_hosts.OutboxMessage",
    dispatch_uid="email_hosts.outbox.loaddata",
)
pre_save.connect(
    clear_loaded_pauses,
    sender="email_hosts.HostStatus",
    dispatch_uid="email_hosts.status.loaddata",
)
for model in ("WorkerBeat", "RateWindow"):
    post_save.connect(
        drop_loaded_bookkeeping,
        sender=f"email_hosts.{model}",
        dispatch_uid=f"email_hosts.{model}.loaddata",
    )
