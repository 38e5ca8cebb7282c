"""Send outbox messages through one host over one connection, within its limits."""

import collections
import contextlib
import dataclasses
import datetime
import email
import email.policy
import functools
import smtplib
import threading

from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import DatabaseError
from django.utils import timezone

from email_hosts import conf
from email_hosts.backends import backend_for
from email_hosts.exceptions import DeliveryUncertain
from email_hosts.hosts import status
from email_hosts.outbox.host_sender import with_host_sender
from email_hosts.outbox.message_parts import UnreadablePart, message_bytes
from email_hosts.outbox.models import Status
from email_hosts.outbox.outcomes import (
    ClaimLost,
    SendingMarks,
    finish,
    flush_outcome,
    record_recipients,
    relay_answer,
    set_status,
)
from email_hosts.outbox.rates import reserve
from email_hosts.smtp import failures
from email_hosts.smtp.size_limit import MessageTooBig


class _Throttled(Exception):
    """The relay asked to slow down: the messages left wait, not fail."""


class _HostFailed(Exception):
    """The host in use failed; the messages left may try its backups."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass
class _Outcome:
    """How sending through one host went."""

    sent: int = 0
    #: Whether the connection opened.
    opened: bool = True
    #: Why the host failed, or None.
    reason: str | None = None
    #: Until when the host takes no more, if it is throttled.
    wait_until: datetime.datetime | None = None


def send_through(host, pending, *, extra=False, on_open=lambda: None):
    """
    Send messages that ``pending`` (a :class:`Pending`) hands out through
    ``host`` over one connection, as long as the host's rate limits let
    it, until none is left or the host fails. Call ``on_open()`` once the
    connection is open. Return an :class:`_Outcome`. An ``extra``
    connection, beside the first, records nothing about the host if it
    cannot open: the relay may take only so many at once.
    """
    backend = backend_for(host)
    if extra:
        backend.keeps_status = False
    outcome, marks = _Outcome(), SendingMarks()
    try:
        if reason := _open(backend):
            return _Outcome(opened=False, reason=reason)
        on_open()
        while (attempt := pending.take()) is not None:
            if full := reserve(host.key, len(attempt.row.pending_recipients)):
                pending.stop(attempt)
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
            except ClaimLost:
                # Another run took it back; it is theirs now. A pipelining
                # connection closed to abandon it.
                with contextlib.suppress(OSError):
                    backend.close()
                if reason := _open(backend):
                    pending.stop()
                    outcome.reason = reason
                    return outcome
                continue
            except _Throttled as throttled:
                pending.stop(attempt)
                pause = conf.failed_host_pause() or conf.DEFAULT_THROTTLE_PAUSE
                outcome.wait_until = timezone.now() + datetime.timedelta(seconds=pause)
                outcome.reason = f"{host.key!r} asked to slow down: {throttled}"
                status.record_send(host.key, ok=False, message=outcome.reason)
                return outcome
            except _HostFailed as failure:
                # Never to another host once it may have left: never twice.
                pending.stop(
                    None if attempt.row.status == Status.UNCERTAIN else attempt
                )
                outcome.reason = failure.reason
                return outcome
            finally:
                if attempt.row.status == Status.SENDING:
                    set_status(attempt.row, status=Status.CLAIMED)
                if attempt.row.status != Status.SENT:
                    # It leaves this loop: to another host, or a retry.
                    attempt.row.defer_writes = False
                    flush_outcome(attempt.row)
        return outcome
    finally:
        marks.flush()
        with contextlib.suppress(OSError):
            backend.close()


class Pending:
    """
    The messages of one host's group that no connection has taken yet,
    handed out one at a time to each of the host's connections.
    """

    def __init__(self, attempts, *, on_take=lambda: None):
        self._attempts = collections.deque(attempts)
        self._lock = threading.Lock()
        self._stopped = False
        self._on_take = on_take

    def take(self):
        """Return the next message to send, or None if none is left or the host stopped."""
        with self._lock:
            if self._stopped or not self._attempts:
                return None
            self._on_take()
            return self._attempts.popleft()

    def stop(self, attempt=None):
        """
        Hand out no more: the host failed or is throttled. ``attempt``, taken
        and not sent, goes back first in line, for a backup or a retry.
        """
        with self._lock:
            self._stopped = True
            if attempt is not None:
                self._attempts.appendleft(attempt)

    def left(self):
        """Return the messages no connection sent, in their order."""
        with self._lock:
            return list(self._attempts)


def _open(backend):
    """Open ``backend``'s connection; return why it failed, or None."""
    try:
        backend.open()
    except (OSError, ImproperlyConfigured) as exc:
        return _reason(exc, backend)
    return None


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
        from_email, data = with_host_sender(
            row, message_bytes(row), attempt.host_sender
        )
        refused = backend.send_bytes(
            from_email,
            row.pending_recipients,
            data,
            before_message=before_message,
        )
    except (ClaimLost, DatabaseError):
        raise  # From before_message(): not the host's doing.
    except (MessageTooBig, UnreadablePart) as exc:
        # The message's fault, not the relay's: no retry, no pause.
        finish(row, Status.FAILED, str(exc))
        return 0
    except DeliveryUncertain as exc:
        finish(row, Status.UNCERTAIN, str(exc), sent_through=backend.alias)
        raise _HostFailed(_reason(exc, backend)) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:
        if failures.is_throttling(exc):
            raise _Throttled(relay_answer(exc.smtp_code, exc.smtp_error)) from exc
        if failures.is_transient(exc):
            raise _HostFailed(_reason(exc, backend)) from exc
        finish(row, Status.FAILED, relay_answer(exc.smtp_code, exc.smtp_error))
        return 0
    except Exception as exc:
        # Before the final "." of DATA (after it, DeliveryUncertain): the
        # relay has nothing, so another host may send it.
        raise _HostFailed(_reason(exc, backend)) from exc
    return record_recipients(attempt, refused, sent_through=backend.alias)


def _send_locally(backend, attempt):
    """Hand a message to a console, locmem or dummy host's backend."""
    try:
        stored = _StoredEmail(attempt.row, attempt.host_sender)
    except UnreadablePart as exc:
        # The message's fault, not the host's: no retry, no pause.
        finish(attempt.row, Status.FAILED, str(exc))
        return 0
    try:
        backend.send_messages([stored])
    except Exception as exc:
        raise _HostFailed(_reason(exc, backend)) from exc
    return record_recipients(attempt, {}, sent_through=backend.alias)


class _StoredEmail(EmailMessage):
    """An outbox message as an ``EmailMessage``, for the backends that take one."""

    def __init__(self, row, host_sender=""):
        from_email, data = with_host_sender(row, message_bytes(row), host_sender)
        self._stored = email.message_from_bytes(data, policy=email.policy.SMTP)
        super().__init__(
            subject=str(self._stored["Subject"] or ""),
            from_email=from_email,
            to=row.pending_recipients,
        )

    def message(self, **kwargs):
        return self._stored


def _reason(exc, backend):
    if isinstance(exc, ImproperlyConfigured):
        return str(exc)
    return status.failure_reason(
        exc,
        host=getattr(backend, "host", ""),
        port=getattr(backend, "port", ""),
        timeout=getattr(backend, "timeout", None),
    )
