"""
Send one host's messages over several connections at once: a relay some
milliseconds away answers each connection in turn, so one connection
waits more than it sends.
"""

import concurrent.futures
import math

from django.db import connections, router

from email_hosts import conf
from email_hosts.outbox.liveness import close_this_threads_connections
from email_hosts.outbox.models import OutboxMessage
from email_hosts.outbox.sending import Pending, send_through


#: A connection is worth opening for this many messages.
MESSAGES_PER_CONNECTION = 10


def send_in_parallel(host, attempts, *, on_take=lambda: None):
    """
    Send ``attempts`` through ``host`` over as many connections as its
    limit allows and they are worth, each message over exactly one of them.
    The extra connections open once the first has: if the host fails, it
    fails once. Call ``on_take()`` as each message is taken to be sent.
    Return the outcome and the messages not sent, in order.
    """
    pending = Pending(attempts, on_take=on_take)
    count = _connection_count(host.key, len(attempts))
    if count == 1:
        return send_through(host, pending), pending.left()
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=count - 1, thread_name_prefix=f"outbox {host.key}"
    ) as pool:
        extras = []

        def open_extras():
            extras.extend(
                pool.submit(_in_own_thread, host, pending) for _ in range(count - 1)
            )

        first = send_through(host, pending, on_open=open_extras)
        outcomes = [first, *(extra.result() for extra in extras)]
    return _merged(outcomes), pending.left()


def _connection_count(key, messages):
    """Return how many connections to open to host ``key`` for ``messages``."""
    using = router.db_for_write(OutboxMessage)
    connection = connections[using]
    if connection.in_atomic_block or (
        connection.vendor == "sqlite" and connection.is_in_memory_db()
    ):
        # Another thread's connection would not see this one's rows.
        return 1
    wanted = math.ceil(messages / MESSAGES_PER_CONNECTION)
    return max(1, min(conf.connections_per_host(key), wanted))


def _in_own_thread(host, pending):
    try:
        return send_through(host, pending, extra=True)
    finally:
        close_this_threads_connections()


def _merged(outcomes):
    """
    Return one outcome for a host's connections: what they sent, and why
    the host stopped, if one found out. An extra connection that the relay
    would not open says nothing about the host: it takes only so many.
    """
    merged = outcomes[0]
    for outcome in outcomes[1:]:
        merged.sent += outcome.sent
        if not outcome.opened:
            continue
        if merged.reason is None:
            merged.reason = outcome.reason
        if outcome.wait_until is not None:
            merged.wait_until = max(
                merged.wait_until or outcome.wait_until, outcome.wait_until
            )
    return merged
