"""
Logged-in SMTP connections kept open between sends, at most one per host and
process, so that the next message costs 4 round trips instead of 13.

A connection is handed to one backend at a time, never outlives its limits
(``EMAIL_HOSTS_CONNECTION_REUSE``), never crosses a ``fork()``, and is only
taken again by a backend with the same destination and credentials.
"""

import atexit
import contextlib
import dataclasses
import hashlib
import hmac
import os
import secrets
import selectors
import threading
import time

from django.views.decorators.debug import sensitive_variables

from email_hosts import conf


#: Makes fingerprints meaningless outside this process.
_SALT = secrets.token_bytes(32)
_clock = time.monotonic


@dataclasses.dataclass
class Usage:
    """Whom a connection logged in as, and what it has done since."""

    #: Its destination and credentials, as :func:`fingerprint` digests them.
    fingerprint: bytes
    # Late-bound, so that tests can set the clock.
    opened: float = dataclasses.field(default_factory=lambda: _clock())  # noqa: PLW0108
    pid: int = dataclasses.field(default_factory=os.getpid)
    messages: int = 0
    #: False from the start of each message until the relay accepted it.
    clean: bool = True


@dataclasses.dataclass
class _Idle:
    connection: object
    since: float


_lock = threading.Lock()
#: Host key to its idle connection, least recently kept first.
_idle = {}


@sensitive_variables()
def fingerprint(*parts):
    """
    Return a digest of a connection's destination and credentials that
    tells whether two backends may share it and reveals neither.
    """
    return hmac.digest(_SALT, repr(parts).encode(), hashlib.sha256)


def take(key, fingerprint):
    """
    Return the idle connection kept for the host ``key`` with this
    ``fingerprint``, now the caller's alone, or None.
    """
    with _lock:
        # Its own connection too, if it waited past the idle timeout.
        expired = _pop_expired(_clock(), conf.connection_reuse())
        idle = _idle.pop(key, None)
    for stale in expired:
        _discard(stale.connection)
    if idle is None:
        return None
    usage = idle.connection.email_hosts_usage
    if (
        usage.fingerprint != fingerprint
        or usage.pid != os.getpid()
        or _has_spoken(idle.connection)
    ):
        # Edited or rotated credentials, a dropped or closing connection.
        _discard(idle.connection)
        return None
    idle.connection.untested = True
    return idle.connection


def keep(key, connection):
    """
    Keep ``connection`` for the next send through the host ``key``, and
    return True; or return False if its limits are reached and the caller
    must close it.
    """
    usage = connection.email_hosts_usage
    limits = conf.connection_reuse()
    now = _clock()
    if (
        limits is None
        or not usage.clean
        or usage.pid != os.getpid()
        or usage.messages >= limits.MAX_MESSAGES
        or now - usage.opened >= limits.MAX_AGE
        or connection.sock is None
    ):
        return False
    with _lock:
        replaced = _idle.pop(key, None)
        _idle[key] = _Idle(connection, since=now)
        surplus = len(_idle) - limits.MAX_IDLE_CONNECTIONS
        evicted = [_idle.pop(oldest) for oldest in list(_idle)[: max(0, surplus)]]
    for idle in [replaced, *evicted]:
        if idle is not None:
            _discard(idle.connection)
    return True


def close_all():
    """Close every idle connection of this process."""
    with _lock:
        idle = list(_idle.values())
        _idle.clear()
    for each in idle:
        _discard(each.connection)


def idle_count():
    """Return how many connections this process keeps idle."""
    return len(_idle)


def _pop_expired(now, limits):
    """
    Remove and return the idle connections past the idle timeout: all of
    them when reuse is off.
    """
    timeout = limits.IDLE_TIMEOUT if limits else -1
    expired = [key for key, idle in _idle.items() if now - idle.since > timeout]
    return [_idle.pop(key) for key in expired]


def _has_spoken(connection):
    """
    Return whether an idle connection has anything to read: the relay closed
    it, or sent a 421 before closing. Either way, it cannot carry a message.
    """
    sock = connection.sock
    if getattr(sock, "pending", lambda: 0)():
        return True  # Decrypted already, waiting in the TLS layer.
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


def _discard(connection):
    """Close the socket without QUIT, which would wait for the relay."""
    with contextlib.suppress(OSError):
        connection.close()


@atexit.register
def _close_at_exit():
    close_all()


def _forget_after_fork():
    """
    In a child process: drop the parent's connections without closing them,
    which would end the parent's sessions; the child opens its own.
    """
    global _lock, _idle  # noqa: PLW0603 -- replaced, never shared with the parent
    _lock = threading.Lock()
    _idle = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
