"""
RoutingBackend: deliver each message through the host that serves its
sender's domain (see table.py), and through that host's backups when it
fails, never sending a message twice.
"""

import contextlib
import logging

from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

from email_hosts import conf
from email_hosts.backends import backend_for
from email_hosts.backends.default_sender import with_default_sender
from email_hosts.exceptions import (
    DeliveryFailed,
    DeliveryUncertain,
    InvalidEmailHost,
    invalid_mailer,
)
from email_hosts.hosts import status
from email_hosts.routing.table import build_table
from email_hosts.smtp import failures


logger = logging.getLogger("email_hosts")
_UNSET = object()


class RoutingBackend(BaseEmailBackend):
    """
    Send each message through the host that serves the domain of its sender,
    and through that host's backups, in order, if it cannot be reached.

    Use it as ``EMAIL_BACKEND`` or as a ``MAILERS`` entry. ``fallback`` (or
    ``EMAIL_HOSTS_FALLBACK``) is the key of the host for senders no host
    serves; without one, such mail goes to Django's default backend.
    """

    def __init__(self, fail_silently=False, *, fallback=_UNSET, **kwargs):  # noqa: FBT002 -- Django's signature
        # Django 6.1 deprecates fail_silently in BaseEmailBackend; keep our own.
        super().__init__(**kwargs)
        self.fail_silently = fail_silently
        self.fallback = conf.routing_fallback() if fallback is _UNSET else fallback
        self.alias = kwargs.get("alias")
        if self.fallback is None and self.alias == "default":
            raise invalid_mailer(
                self.alias,
                "RoutingBackend as the default mailer needs a fallback host for"
                " senders no host serves: set OPTIONS['fallback'] or"
                " EMAIL_HOSTS_FALLBACK to a host key.",
            )

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        table = build_table()
        groups = {}
        for message in email_messages:
            key = table.key_for(message.from_email) or self.fallback
            groups.setdefault(key, []).append(message)
        return sum(
            self._deliver(table, key, group)
            if key is not None
            else self._django_default().send_messages(group)
            for key, group in groups.items()
        )

    def _django_default(self):
        if hasattr(settings, "MAILERS"):
            return mail.mailers.default
        # Django < 6.1
        backend_class = import_string(settings.EMAIL_BACKEND)
        if issubclass(backend_class, RoutingBackend):
            # Itself, by any path: Django's SMTP backend is the default then.
            backend_class = import_string("django.core.mail.backends.smtp.EmailBackend")
        return backend_class(fail_silently=self.fail_silently)

    def _deliver(self, table, key, messages):
        chain = table.chain(key)
        if not chain:
            raise InvalidEmailHost(
                "No such email host; RoutingBackend's fallback must name one.",
                source="EMAIL_HOSTS_FALLBACK",
                key=key,
            )
        # The first host's sender, also when a backup sends: the From stays.
        sender = table.hosts[key].default_from if key in table.hosts else ""
        pending = [with_default_sender(message, sender) for message in messages]
        sent, attempts, uncertain = 0, [], []
        chain = _without_paused(chain)
        for position, current in enumerate(chain):
            rest = chain[position + 1 :]
            if current in table.broken:
                failure = InvalidEmailHost(
                    table.broken[current], source="email_hosts", key=current
                )
                attempts.append((current, failure, table.broken[current]))
                self._log_failover(current, table.broken[current], rest, len(pending))
                continue
            host = table.hosts[current]
            backend = backend_for(host)
            try:
                count, failure = self._send_pending(backend, pending, uncertain)
            finally:
                _close_quietly(backend)
            sent += count
            if failure is None:
                break
            reason = failures.explain(
                failure, host=backend.host, port=backend.port, timeout=backend.timeout
            )
            attempts.append((current, failure, reason))
            self._log_failover(current, reason, rest, len(pending))
        self._raise_unless_silent(attempts, pending, uncertain)
        return sent

    def _raise_unless_silent(self, attempts, pending, uncertain):
        """
        Raise what went wrong with a chain: every host failing, or messages
        whose fate is unknown. ``fail_silently`` hides send errors, never
        configuration errors.
        """
        failures_ = [failure for _key, failure, _reason in attempts]
        configuration_errors = [f for f in failures_ if isinstance(f, InvalidEmailHost)]
        if pending and len(configuration_errors) == len(attempts) == 1:
            raise configuration_errors[0]
        if pending:
            error = DeliveryFailed(
                attempts=[(key, reason) for key, _failure, reason in attempts],
                unsent=len(pending),
                uncertain=uncertain,
            )
            if configuration_errors or not self.fail_silently:
                raise error from attempts[-1][1]
        elif uncertain and not self.fail_silently:
            [first, *_] = [f for f in failures_ if isinstance(f, DeliveryUncertain)]
            raise DeliveryUncertain(key=first.key, message_ids=uncertain)

    def _send_pending(self, backend, pending, uncertain):
        """
        Send ``pending`` over one connection, removing each message as it is
        accepted. Return how many were sent, and the failure that stopped this
        host, if another host may succeed where it failed. A message the relay
        may have accepted leaves ``pending`` for ``uncertain``: never twice.
        """
        sent = 0
        try:
            backend.open()
            while pending:
                try:
                    sent += backend.send_messages(pending[:1])
                except DeliveryUncertain as exc:
                    pending.pop(0)
                    uncertain.extend(exc.message_ids)
                    return sent, exc  # The connection is gone; the rest go on.
                except Exception as exc:
                    if failures.is_transient(exc):
                        raise
                    # A permanent refusal: another host would refuse it too.
                    pending.pop(0)
                    if not self.fail_silently:
                        raise
                else:
                    pending.pop(0)
        except Exception as exc:
            if not failures.is_transient(exc):
                raise
            return sent, exc
        return sent, None

    @staticmethod
    def _log_failover(key, reason, rest, pending):
        if rest:
            logger.warning(
                "Email host %r failed (%s); sending %d message(s) through %r instead.",
                key,
                reason,
                pending,
                rest[0],
            )
        else:
            logger.error(
                "Email host %r failed (%s) and has no backup left; %d message(s) unsent.",
                key,
                reason,
                pending,
            )


def _without_paused(chain):
    """
    Return ``chain`` without the hosts another process found failing a
    moment ago (``EMAIL_HOSTS_FAILED_HOST_PAUSE``), unless that leaves none:
    then every host is tried, since this send has nowhere else to wait.
    """
    if len(chain) < 2:
        return chain  # Nothing to skip to; no query.
    paused = status.paused(chain)
    available = [key for key in chain if key not in paused]
    if paused and available:
        logger.info(
            "Skipping paused email host(s) %s for %r.",
            ", ".join(map(repr, sorted(paused))),
            available[0],
        )
    return available or chain


def _close_quietly(backend):
    # The connection may already be broken; closing must not hide why.
    with contextlib.suppress(OSError):
        backend.close()
