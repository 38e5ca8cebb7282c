"""Send outbox messages through one host over one connection, within its limits."""

import contextlib
import dataclasses
import datetime
import email
import email.policy
import functools
import smtplib

from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import DatabaseError
from django.utils import timezone

from email_hosts import conf
from email_hosts.backends import backend_for
from email_hosts.exceptions import DeliveryUncertain
from email_hosts.hosts import status
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
    #: Why the host failed, or None.
    reason: str | None = None
    #: Until when the host takes no more, if it is throttled.
    wait_until: datetime.datetime | None = None


def send_through(host, pending):
    """
    Send ``pending`` through ``host`` over one connection, removing each
    message once its fate is known, as long as the host's rate limits let
    it. Return an :class:`_Outcome`.
    """
    backend = backend_for(host)
    outcome, marks = _Outcome(), SendingMarks()
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
            except ClaimLost:
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
                    set_status(attempt.row, status=Status.CLAIMED)
                if attempt.row.status != Status.SENT:
                    # It leaves this loop: to another host, or a retry.
                    attempt.row.defer_writes = False
                    flush_outcome(attempt.row)
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
            message_bytes(row),
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
        backend.send_messages([_StoredEmail(attempt.row)])
    except Exception as exc:
        raise _HostFailed(_reason(exc, backend)) from exc
    return record_recipients(attempt, {}, sent_through=backend.alias)


class _StoredEmail(EmailMessage):
    """An outbox message as an ``EmailMessage``, for the backends that take one."""

    def __init__(self, row):
        self._stored = email.message_from_bytes(
            message_bytes(row), policy=email.policy.SMTP
        )
        super().__init__(
            subject=str(self._stored["Subject"] or ""),
            from_email=row.from_email,
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
