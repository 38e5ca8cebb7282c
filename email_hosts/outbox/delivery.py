"""Deliver claimed outbox messages, each host's group through its backups."""

import logging

from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.hosts import status
from email_hosts.outbox.claims import (
    beat,
    claim_due,
    new_worker_id,
    release_abandoned,
)
from email_hosts.outbox.models import UNREADABLE, OutboxMessage, Status, unreadable
from email_hosts.outbox.outcomes import Attempt, finish, postpone, retry_or_fail
from email_hosts.outbox.sending import send_through
from email_hosts.routing.table import build_table


logger = logging.getLogger("email_hosts")


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
            finish(row, Status.FAILED, UNREADABLE)
            continue
        try:
            key = _route(table, row)
        except ImproperlyConfigured as exc:
            retry_or_fail(Attempt(row, [str(exc)]))
            continue
        row.routed_to = key or ""
        groups.setdefault(key, []).append(Attempt(row))
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
            outcome = send_through(table.hosts[current], pending)
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
