"""Deliver claimed outbox messages, each host's group through its backups."""

import logging

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.hosts import status
from email_hosts.outbox import liveness
from email_hosts.outbox.claims import (
    claim_due,
    new_worker_id,
    next_due,
    release_abandoned,
    unfinished,
)
from email_hosts.outbox.liveness import Heartbeat
from email_hosts.outbox.models import UNREADABLE, Status, unreadable
from email_hosts.outbox.outcomes import Attempt, finish, postpone, retry_or_fail
from email_hosts.outbox.parallel import send_in_parallel
from email_hosts.routing.table import build_table


logger = logging.getLogger("email_hosts")


def deliver_due(*, schedule=None):
    """
    Take back what dead runs held, then claim and deliver due messages in
    batches until none is due, beating all along. With ``schedule(when)``,
    which has a run start at ``when``: first, while messages are due or
    held, a run one ``WORKER_TIMEOUT_SECONDS`` ahead, so that if this run
    dies, another takes back what it held without new mail arriving; and
    before and after the batches, a run for when the next queued message
    comes due. Return how many messages were sent.
    """
    schedule = schedule or _nowhere
    worker_id = new_worker_id()
    with Heartbeat(worker_id) as heartbeat:
        release_abandoned()
        # Before claiming: these runs are enqueued even if this one dies.
        if unfinished():
            schedule(timezone.now() + liveness.timeout())
        _schedule_next_due(schedule)
        sent = 0
        while batch := claim_due(worker_id, limit=conf.outbox().BATCH_SIZE):
            heartbeat.progress()
            sent += deliver(batch, on_take=heartbeat.progress)
            release_abandoned()  # A long run takes back a dead one's too.
        _schedule_next_due(schedule)  # Retries this run scheduled.
    return sent


def _nowhere(when):
    """Schedule nothing: the caller runs again by itself (cron)."""


def _schedule_next_due(schedule):
    when = next_due()
    if when is not None and when > timezone.now():
        schedule(when)


# Hides every frame below (the messages, the host's password) from error
# reports of a failed run.
@sensitive_variables()
def deliver(batch, *, on_take=lambda: None):
    """
    Deliver claimed messages, grouped by the host each leaves through,
    calling ``on_take()`` as each is taken to be sent. Return how many
    were sent.
    """
    table = build_table()
    groups = {}
    for row in batch:
        row.claim = row.claimed_by  # Every write checks the claim still holds.
        if unreadable(row):
            # The message's fault, not the relay's: no host is tried or paused.
            finish(row, Status.FAILED, UNREADABLE)
            continue
        try:
            key = _route(table, row)
        except ImproperlyConfigured as exc:
            retry_or_fail(Attempt(row, [str(exc)]))
            continue
        row.routed_to = key or ""
        host = table.hosts.get(key)
        groups.setdefault(key, []).append(
            Attempt(row, host_sender=host.default_from if host else "")
        )
    return sum(
        _deliver_group(table, key, attempts, on_take=on_take)
        for key, attempts in groups.items()
    )


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
            retry_or_fail(attempt)
        return []
    chain = table.chain(key) or [key]
    paused = status.paused(chain)
    available = [current for current in chain if current not in paused]
    if not available:
        # Another process found them failing a moment ago: wait, and count
        # no attempt, rather than every worker finding it out again.
        until = min(paused.values())
        for attempt in attempts:
            postpone(
                attempt.row,
                until,
                f"{key!r} and its backups failed a moment ago; waiting until"
                f" {until:%H:%M:%S %Z}.",
            )
    return available


def _deliver_group(table, key, attempts, *, on_take):
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
            outcome, pending = send_in_parallel(
                table.hosts[current], pending, on_take=on_take
            )
            sent += outcome.sent
            if outcome.wait_until is not None:
                # Throttled: the rest wait for this host, without an attempt.
                for attempt in pending:
                    postpone(attempt.row, outcome.wait_until, outcome.reason)
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
        retry_or_fail(attempt)
    return sent
