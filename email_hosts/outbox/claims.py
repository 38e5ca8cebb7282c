"""
Which worker holds which outbox message: claiming due messages so that no
other worker sends them, and taking back what a dead worker held.
"""

import os
import socket
import uuid

from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from email_hosts.outbox import liveness
from email_hosts.outbox.models import OutboxMessage, Status


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


def _abandoned():
    """
    Return the messages whose run stopped beating: held (claimed or being
    sent) for longer than ``WORKER_TIMEOUT_SECONDS`` by a run that did not
    beat within it. A run beats before it claims, so a slow run that lives
    is never among them, however long its batch takes.
    """
    return (
        _messages()
        .filter(
            status__in=[Status.CLAIMED, Status.SENDING],
            claimed_at__lt=timezone.now() - liveness.timeout(),
        )
        .exclude(claimed_by__in=liveness.live_runs())
    )


def release_abandoned():
    """
    Take back what dead runs held: a claimed message returns to the queue,
    due now (it was not sent); a message being sent becomes uncertain (the
    relay may have it). Return how many of each.
    """
    abandoned = _abandoned()
    requeued = abandoned.filter(status=Status.CLAIMED).update(
        status=Status.QUEUED,
        claimed_by="",
        claimed_at=None,
        next_attempt_at=timezone.now(),
    )
    uncertain = abandoned.filter(status=Status.SENDING).update(
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


def abandoned_since():
    """Return when the oldest message a dead run holds was claimed, or None."""
    return (
        _abandoned().order_by("claimed_at").values_list("claimed_at", flat=True).first()
    )


def unfinished():
    """
    Return whether a run has work now or may have to take some back: a
    message is due, or held by a run (which may die).
    """
    return (
        _messages()
        .filter(
            Q(status=Status.QUEUED, next_attempt_at__lte=timezone.now())
            | Q(status__in=[Status.CLAIMED, Status.SENDING])
        )
        .exists()
    )


def next_due():
    """Return when the next queued message comes due, or None."""
    return (
        _messages()
        .filter(status=Status.QUEUED)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


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
