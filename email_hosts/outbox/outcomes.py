"""Record what became of each claimed outbox message, in as few writes as it takes."""

import dataclasses
import datetime

from django.utils import timezone

from email_hosts import conf
from email_hosts.outbox.models import OutboxMessage, Status
from email_hosts.outbox.statements import update_claimed


@dataclasses.dataclass
class Attempt:
    """One message on its way: what is left of it, and why it is not sent."""

    row: OutboxMessage
    reasons: list = dataclasses.field(default_factory=list)
    #: The sender it leaves from if it has none of its own: its host's.
    host_sender: str = ""


class ClaimLost(Exception):
    """Another run took the message back (after ``CLAIM_SECONDS``)."""


class SendingMarks:
    """
    The writes of one connection's messages: each message is marked as
    being sent, durably, before it leaves, in the same statement that
    records what became of the message before it, so a message costs one
    statement. Until then a message stays "sending", so a worker killed in
    between leaves it uncertain, never resent.
    """

    def __init__(self):
        self.previous = None

    def mark(self, row):
        """Mark ``row`` as being sent; raise ``ClaimLost`` if it is not ours."""
        if not _mark_sending(row, after=self.previous):
            raise ClaimLost
        row.defer_writes, self.previous = True, row

    def flush(self):
        """Write what the last message kept back."""
        if self.previous is not None:
            self.previous.defer_writes = False
            flush_outcome(self.previous)


def record_recipients(attempt, refused, *, sent_through):
    """
    Record a message the relay took for all recipients but ``refused``:
    refused for good (5xx) they are given up, refused for now (4xx) they
    are retried. Return 1 if any recipient was accepted now.
    """
    row = attempt.row
    for recipient, (code, answer) in refused.items():
        if code >= 500:
            row.refused_recipients[recipient] = relay_answer(code, answer)
    deferred = [
        r for r in row.pending_recipients if r in refused and refused[r][0] < 500
    ]
    accepted = len(row.pending_recipients) - len(refused)
    row.pending_recipients = deferred
    row.sent_through = sent_through if accepted else row.sent_through
    if deferred:
        answers = "; ".join(relay_answer(*refused[r]) for r in deferred)
        attempt.reasons.append(
            f"{sent_through!r} deferred {len(deferred)} recipient(s): {answers}"
        )
        retry_or_fail(attempt)
    elif row.refused_recipients and len(row.refused_recipients) == len(row.recipients):
        finish(row, Status.FAILED, "The relay refused every recipient.")
    else:
        finish(row, Status.SENT, "", sent_through=row.sent_through)
    return 1 if accepted else 0


def relay_answer(code, answer):
    text = (
        answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    )
    return f"{code} {text}"[:300]


def set_status(row, *, status):
    """Set the status of a message this run holds; return False if it lost it."""
    row.status = status
    return _save(row, ["status"])


def _save(row, fields):
    """
    Write ``fields`` of ``row``, unless another run took the message back
    (after ``CLAIM_SECONDS``): then write nothing and return False. A row
    that defers its writes keeps them for :func:`_mark_sending` instead.
    """
    row.unsaved = getattr(row, "unsaved", set()) | set(fields)
    if getattr(row, "defer_writes", False):
        return True
    return flush_outcome(row)


def flush_outcome(row):
    """Write what ``row`` kept back; return False if its claim was lost."""
    fields, row.unsaved = getattr(row, "unsaved", set()), set()
    if not fields:
        return True
    return update_claimed(row.claim, {row.pk: _values(row, fields)}) == 1


def _mark_sending(row, *, after):
    """
    Mark ``row`` as being sent, writing what the message sent before it
    (``after``) kept back in the same statement. Return False if another
    run took ``row`` back.
    """
    row.status = Status.SENDING
    if after is None or not getattr(after, "unsaved", None):
        return _save(row, ["status"])
    fields, after.unsaved = after.unsaved, set()
    changes = {after.pk: _values(after, fields), row.pk: {"status": row.status}}
    if update_claimed(row.claim, changes) == 2:
        return True
    return OutboxMessage.objects.filter(
        pk=row.pk, claimed_by=row.claim, status=Status.SENDING
    ).exists()


def _values(row, fields):
    return {name: getattr(row, name) for name in fields}


def _release(row, status_, error, **changes):
    """
    Let go of a message this run held: in ``status_``, with ``error`` as its
    last error and ``changes`` to its other fields, in one write.
    """
    row.status, row.last_error = status_, error[:1000]
    row.claimed_by, row.claimed_at = "", None
    for name, value in changes.items():
        setattr(row, name, value)
    _save(
        row,
        [
            "status",
            "last_error",
            "claimed_by",
            "claimed_at",
            "routed_to",
            "sent_through",
            "pending_recipients",
            "refused_recipients",
            *changes,
        ],
    )


def finish(row, status_, error, *, sent_through=""):
    _release(
        row,
        status_,
        error,
        attempts=row.attempts + 1,
        finished_at=timezone.now(),
        sent_through=sent_through or row.sent_through,
    )


def postpone(row, until, reason):
    """Queue a message again for ``until``, counting no attempt."""
    _release(row, Status.QUEUED, reason, next_attempt_at=until)


def retry_or_fail(attempt):
    """Queue a message for its next retry, or fail it after the last."""
    row = attempt.row
    error = "; ".join(attempt.reasons)
    delays = conf.retry_delays()
    if row.attempts >= len(delays):
        finish(row, Status.FAILED, error)
        return
    _release(
        row,
        Status.QUEUED,
        error,
        next_attempt_at=timezone.now()
        + datetime.timedelta(seconds=delays[row.attempts]),
        attempts=row.attempts + 1,
    )
