"""
Deliver claimed outbox messages: each host's over one connection, through
its backups when it fails, and record what became of every message.
"""

import contextlib
import dataclasses
import datetime
import email
import email.policy
import functools
import logging
import smtplib

from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import DatabaseError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf, failures, status
from email_hosts.backends import backend_for
from email_hosts.exceptions import DeliveryUncertain
from email_hosts.outbox.claims import (
    beat,
    claim_due,
    new_worker_id,
    release_abandoned,
)
from email_hosts.outbox.models import UNREADABLE, OutboxMessage, Status, unreadable
from email_hosts.outbox.rates import reserve
from email_hosts.outbox.statements import update_claimed
from email_hosts.routing.table import build_table


logger = logging.getLogger("email_hosts")


class _Throttled(Exception):
    """The relay asked to slow down: the messages left wait, not fail."""


class _HostFailed(Exception):
    """The host in use failed; the messages left may try its backups."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass
class _Attempt:
    """One message on its way: what is left of it, and why it is not sent."""

    row: OutboxMessage
    reasons: list = dataclasses.field(default_factory=list)


def deliver_due(*, on_retry_scheduled=None):
    """
    Take back what dead workers held, then claim and deliver due messages
    in batches until none is due. Call ``on_retry_scheduled(when)`` with the
    earliest retry this run scheduled. Return how many messages were sent.
    """
    release_abandoned()
    beat()
    worker_id = new_worker_id()
    sent, retry_at = 0, None
    while batch := claim_due(worker_id, limit=conf.outbox().BATCH_SIZE):
        batch_sent, batch_retry_at = deliver(batch)
        sent += batch_sent
        if batch_retry_at and (retry_at is None or batch_retry_at < retry_at):
            retry_at = batch_retry_at
    if retry_at is not None and on_retry_scheduled is not None:
        on_retry_scheduled(retry_at)
    return sent


# Hides every frame below (the messages, the host's password) from error
# reports of a failed run.
@sensitive_variables()
def deliver(batch):
    """
    Deliver claimed messages, grouped by the host each leaves through.
    Return how many were sent and the earliest retry scheduled, or None.
    """
    table = build_table()
    groups = {}
    for row in batch:
        row.claim = row.claimed_by  # Every write checks the claim still holds.
        if unreadable(row):
            # The message's fault, not the relay's: no host is tried or paused.
            _finish(row, Status.FAILED, UNREADABLE)
            continue
        try:
            key = _route(table, row)
        except ImproperlyConfigured as exc:
            _retry_or_fail(_Attempt(row, [str(exc)]))
            continue
        row.routed_to = key or ""
        groups.setdefault(key, []).append(_Attempt(row))
    sent = 0
    for key, attempts in groups.items():
        sent += _deliver_group(table, key, attempts)
    retry_at = (
        OutboxMessage.objects.filter(
            pk__in=[row.pk for row in batch], status=Status.QUEUED
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return sent, retry_at


def _route(table, row):
    """Return the key of the host ``row`` leaves through, or None for none."""
    if row.host_key:
        return row.host_key
    return table.key_for(row.from_email) or row.fallback_key or None


def _hosts_to_try(table, key, attempts):
    """
    Return the keys of the hosts to try for ``attempts``, in order: the
    host ``key`` and its backups, without those another process found
    failing a moment ago. Where there are none, put the messages off.
    """
    if key is None:
        for attempt in attempts:
            attempt.reasons.append(
                f"No email host serves the sender {attempt.row.from_email!r}, and"
                f" the outbox has no fallback host; set EMAIL_HOSTS_FALLBACK."
            )
            _retry_or_fail(attempt)
        return []
    chain = table.chain(key) or [key]
    paused = status.paused(chain)
    available = [current for current in chain if current not in paused]
    if not available:
        # Another process found them failing a moment ago: wait, and count
        # no attempt, rather than every worker finding it out again.
        until = min(paused.values())
        for attempt in attempts:
            _postpone(
                attempt.row,
                until,
                f"{key!r} and its backups failed a moment ago; waiting until"
                f" {until:%H:%M:%S %Z}.",
            )
    return available


def _deliver_group(table, key, attempts):
    available = _hosts_to_try(table, key, attempts)
    if not available:
        return 0  # _hosts_to_try() put them off.
    pending, sent = list(attempts), 0
    for current in available:
        if not pending:
            break
        if current in table.broken:
            reason = table.broken[current]
        elif current not in table.hosts:
            reason = "No such email host. Add it in the admin or to EMAIL_HOSTS."
        else:
            outcome = _send_through(table.hosts[current], pending)
            sent += outcome.sent
            if outcome.wait_until is not None:
                # Throttled: the rest wait for this host, without an attempt.
                for attempt in pending:
                    _postpone(attempt.row, outcome.wait_until, outcome.reason)
                return sent
            if outcome.reason is None:
                continue
            reason = outcome.reason
            status.record_send(current, ok=False, message=reason)
        for attempt in pending:
            attempt.reasons.append(f"{current!r}: {reason}")
        if len(available) > 1:
            logger.warning(
                "Email host %r failed (%s); %d outbox message(s) left.",
                current,
                reason,
                len(pending),
            )
    for attempt in pending:
        _retry_or_fail(attempt)
    return sent


@dataclasses.dataclass
class _Outcome:
    """How sending through one host went."""

    sent: int = 0
    #: Why the host failed, or None.
    reason: str | None = None
    #: Until when the host takes no more, if it is throttled.
    wait_until: datetime.datetime | None = None


def _send_through(host, pending):
    """
    Send ``pending`` through ``host`` over one connection, removing each
    message once its fate is known, as long as the host's rate limits let
    it. Return an :class:`_Outcome`.
    """
    backend = backend_for(host)
    outcome, marks = _Outcome(), _SendingMarks()
    try:
        if reason := _open(backend):
            return _Outcome(reason=reason)
        while pending:
            attempt = pending[0]
            if full := reserve(host.key, len(attempt.row.pending_recipients)):
                until, limit = full
                outcome.wait_until = until
                outcome.reason = (
                    f"{host.key!r} sent its limit of {limit}; waiting until"
                    f" {until:%H:%M:%S %Z}."
                )
                return outcome
            try:
                outcome.sent += _send_one(
                    backend,
                    attempt,
                    before_message=functools.partial(marks.mark, attempt.row),
                )
            except _ClaimLost:
                pending.pop(0)  # Another run took it back; it is theirs now.
                # A pipelining connection closed to abandon it.
                with contextlib.suppress(OSError):
                    backend.close()
                if reason := _open(backend):
                    outcome.reason = reason
                    return outcome
                continue
            except _Throttled as throttled:
                pause = conf.failed_host_pause() or conf.DEFAULT_THROTTLE_PAUSE
                outcome.wait_until = timezone.now() + datetime.timedelta(seconds=pause)
                outcome.reason = f"{host.key!r} asked to slow down: {throttled}"
                status.record_send(host.key, ok=False, message=outcome.reason)
                return outcome
            except _HostFailed as failure:
                if attempt.row.status == Status.UNCERTAIN:
                    pending.pop(0)  # Never to another host: never twice.
                outcome.reason = failure.reason
                return outcome
            finally:
                if attempt.row.status == Status.SENDING:
                    _mark(attempt.row, status=Status.CLAIMED)
                if attempt.row.status != Status.SENT:
                    # It leaves this loop: to another host, or a retry.
                    attempt.row.defer_writes = False
                    _flush(attempt.row)
            pending.pop(0)
        return outcome
    finally:
        marks.flush()
        with contextlib.suppress(OSError):
            backend.close()


def _open(backend):
    """Open ``backend``'s connection; return why it failed, or None."""
    try:
        backend.open()
    except (OSError, ImproperlyConfigured) as exc:
        return _reason(exc, backend)
    return None


class _ClaimLost(Exception):
    """Another run took the message back (after ``CLAIM_SECONDS``)."""


class _SendingMarks:
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
        """Mark ``row`` as being sent; raise ``_ClaimLost`` if it is not ours."""
        if not _mark_sending(row, after=self.previous):
            raise _ClaimLost
        row.defer_writes, self.previous = True, row

    def flush(self):
        """Write what the last message kept back."""
        if self.previous is not None:
            self.previous.defer_writes = False
            _flush(self.previous)


def _send_one(backend, attempt, *, before_message):
    """
    Send one message, calling ``before_message()`` before it leaves; record
    what became of it and return 1 if the relay took it for some recipient.
    Raise ``_HostFailed`` if the message may try another host, after
    recording it if it may not, and ``_Throttled`` if the relay asks to
    slow down.
    """
    row = attempt.row
    if not hasattr(backend, "send_bytes"):
        before_message()
        return _send_locally(backend, attempt)
    try:
        refused = backend.send_bytes(
            row.from_email,
            row.pending_recipients,
            row.message,
            before_message=before_message,
        )
    except (_ClaimLost, DatabaseError):
        raise  # From before_message(): not the host's doing.
    except DeliveryUncertain as exc:
        _finish(row, Status.UNCERTAIN, str(exc), sent_through=backend.alias)
        raise _HostFailed(_reason(exc, backend)) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:
        if failures.is_throttling(exc):
            raise _Throttled(_relay_answer(exc.smtp_code, exc.smtp_error)) from exc
        if failures.is_transient(exc):
            raise _HostFailed(_reason(exc, backend)) from exc
        _finish(row, Status.FAILED, _relay_answer(exc.smtp_code, exc.smtp_error))
        return 0
    except Exception as exc:
        # Before the final "." of DATA (after it, DeliveryUncertain): the
        # relay has nothing, so another host may send it.
        raise _HostFailed(_reason(exc, backend)) from exc
    return _record_recipients(attempt, refused, sent_through=backend.alias)


def _send_locally(backend, attempt):
    """Hand a message to a console, locmem or dummy host's backend."""
    try:
        backend.send_messages([_StoredEmail(attempt.row)])
    except Exception as exc:
        raise _HostFailed(_reason(exc, backend)) from exc
    return _record_recipients(attempt, {}, sent_through=backend.alias)


class _StoredEmail(EmailMessage):
    """An outbox message as an ``EmailMessage``, for the backends that take one."""

    def __init__(self, row):
        self._stored = email.message_from_bytes(row.message, policy=email.policy.SMTP)
        super().__init__(
            subject=str(self._stored["Subject"] or ""),
            from_email=row.from_email,
            to=row.pending_recipients,
        )

    def message(self, **kwargs):
        return self._stored


def _record_recipients(attempt, refused, *, sent_through):
    """
    Record a message the relay took for all recipients but ``refused``:
    refused for good (5xx) they are given up, refused for now (4xx) they
    are retried. Return 1 if any recipient was accepted now.
    """
    row = attempt.row
    for recipient, (code, answer) in refused.items():
        if code >= 500:
            row.refused_recipients[recipient] = _relay_answer(code, answer)
    deferred = [
        r for r in row.pending_recipients if r in refused and refused[r][0] < 500
    ]
    accepted = len(row.pending_recipients) - len(refused)
    row.pending_recipients = deferred
    row.sent_through = sent_through if accepted else row.sent_through
    if deferred:
        answers = "; ".join(_relay_answer(*refused[r]) for r in deferred)
        attempt.reasons.append(
            f"{sent_through!r} deferred {len(deferred)} recipient(s): {answers}"
        )
        _retry_or_fail(attempt)
    elif row.refused_recipients and len(row.refused_recipients) == len(row.recipients):
        _finish(row, Status.FAILED, "The relay refused every recipient.")
    else:
        _finish(row, Status.SENT, "", sent_through=row.sent_through)
    return 1 if accepted else 0


def _reason(exc, backend):
    if isinstance(exc, ImproperlyConfigured):
        return str(exc)
    return status.failure_reason(
        exc,
        host=getattr(backend, "host", ""),
        port=getattr(backend, "port", ""),
        timeout=getattr(backend, "timeout", None),
    )


def _relay_answer(code, answer):
    text = (
        answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    )
    return f"{code} {text}"[:300]


def _mark(row, *, status):
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
    return _flush(row)


def _flush(row):
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


def _finish(row, status_, error, *, sent_through=""):
    _release(
        row,
        status_,
        error,
        attempts=row.attempts + 1,
        finished_at=timezone.now(),
        sent_through=sent_through or row.sent_through,
    )


def _postpone(row, until, reason):
    """Queue a message again for ``until``, counting no attempt."""
    _release(row, Status.QUEUED, reason, next_attempt_at=until)


def _retry_or_fail(attempt):
    """Queue a message for its next retry, or fail it after the last."""
    row = attempt.row
    error = "; ".join(attempt.reasons)
    delays = conf.retry_delays()
    if row.attempts >= len(delays):
        _finish(row, Status.FAILED, error)
        return
    _release(
        row,
        Status.QUEUED,
        error,
        next_attempt_at=timezone.now()
        + datetime.timedelta(seconds=delays[row.attempts]),
        attempts=row.attempts + 1,
    )
