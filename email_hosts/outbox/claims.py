"""
Which worker holds which outbox message: claiming due messages so that no
other worker sends them, and taking back what a dead worker held.
"""

import datetime
import os
import socket
import uuid

from django.db import connections, router, transaction
from django.utils import timezone

from email_hosts import conf
from email_hosts.outbox.models import OutboxMessage, Status, WorkerBeat


def new_worker_id():
    """Return a name for one delivery run: its machine, process and a nonce."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _messages():
    return OutboxMessage.objects.using(router.db_for_write(OutboxMessage))


def claim_due(worker_id, *, limit):
    """
    Claim up to ``limit`` due messages for ``worker_id`` and return them,
    oldest due first. Rows another worker is claiming are skipped, not
    waited for; the conditional update makes each claim exclusive also
    where the database cannot lock rows (SQLite).
    """
    now = timezone.now()
    messages = _messages()
    due = messages.filter(status=Status.QUEUED, next_attempt_at__lte=now)
    oldest = due.order_by("next_attempt_at", "pk").values("pk")[:limit]
    claim = {"status": Status.CLAIMED, "claimed_by": worker_id, "claimed_at": now}
    if connections[messages.db].vendor == "sqlite":
        # SQLite locks the whole database: claim in one statement, which
        # waits for the write lock, where a transaction that read first
        # fails at once ("database is locked") if another worker writes.
        due.filter(pk__in=oldest).update(**claim)
    else:
        with transaction.atomic(using=messages.db):
            candidates = list(
                oldest.select_for_update(skip_locked=True).values_list("pk", flat=True)
            )
            due.filter(pk__in=candidates).update(**claim)
    return list(
        messages.filter(status=Status.CLAIMED, claimed_by=worker_id).order_by(
            "next_attempt_at", "pk"
        )
    )


def release_abandoned():
    """
    Take back what workers held longer than ``CLAIM_SECONDS``: a claimed
    message returns to the queue (it was not sent), a message being sent
    becomes uncertain (the relay may have it). Return how many of each.
    """
    cutoff = timezone.now() - datetime.timedelta(seconds=conf.outbox().CLAIM_SECONDS)
    messages = _messages()
    held_too_long = messages.filter(claimed_at__lt=cutoff)
    requeued = held_too_long.filter(status=Status.CLAIMED).update(
        status=Status.QUEUED, claimed_by="", claimed_at=None
    )
    uncertain = held_too_long.filter(status=Status.SENDING).update(
        status=Status.UNCERTAIN,
        claimed_by="",
        claimed_at=None,
        finished_at=timezone.now(),
        last_error=(
            "The worker sending this message stopped before the relay"
            " answered, so the relay may have accepted it."
        ),
    )
    return requeued, uncertain


def beat(name="outbox"):
    """Record that a worker ran now, for check W012."""
    beats = WorkerBeat.objects.using(router.db_for_write(WorkerBeat))
    if not beats.filter(name=name).update(ran_at=timezone.now()):
        beats.get_or_create(name=name, defaults={"ran_at": timezone.now()})


def last_beat():
    """Return when a worker last ran, or None."""
    beat_ = WorkerBeat.objects.order_by("-ran_at").first()
    return beat_.ran_at if beat_ else None


def waiting_since():
    """Return when the oldest message that is due became due, or None."""
    return (
        OutboxMessage.objects.filter(
            status=Status.QUEUED, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
