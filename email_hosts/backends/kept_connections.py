"""Keep a backend's logged-in connection for the next send through its host."""

import logging
import os

from django.views.decorators.debug import sensitive_variables

from email_hosts.backends.patched_smtplib import smtp_patched_by_a_test
from email_hosts.smtp import connections, pool


logger = logging.getLogger("email_hosts")


class KeptConnectionMixin:
    """
    Keep an SMTP backend's logged-in connection open for the next send
    through the same host, and send again on a new connection when the relay
    closed a kept one before taking the message. The backend provides
    ``alias``, ``reuse_connection``, its connection options and ``_open_new()``.
    """

    def close(self):
        connection = self.connection
        usage = usage_of(connection)
        if usage is not None and self._reuses():
            if usage.pid != os.getpid():
                # Opened before a fork: the parent's session, not ours to end.
                self.connection = None
                return
            if pool.keep(self.alias, connection):
                self.connection = None
                return
        super().close()

    def _send(self, email_message):
        sent = self._reconnecting(
            lambda: super(KeptConnectionMixin, self)._send(email_message)
        )
        if sent is None:
            return False  # fail_silently hid why.
        if usage := usage_of(self.connection):
            usage.messages += sent
            usage.clean = sent or not email_message.recipients()
        return sent

    def _reconnecting(self, send):
        """
        Return what ``send()`` returns, sending on this backend's connection.
        If that connection was a kept one the relay had closed, it failed
        before ``MAIL FROM`` was accepted: nothing left, so send again on a
        new connection, which cannot deliver the message twice. Return None
        if ``fail_silently`` hid why no new connection opened.
        """
        # A connection a caller set is not ours to count or keep.
        if usage := usage_of(self.connection):
            usage.clean = False
        try:
            return send()
        except connections.KeptConnectionLost:
            logger.info(
                "Email host %r closed a kept connection; reconnecting.", self.alias
            )
            self.connection = None
            if not self._open_new():
                return None
            return self._reconnecting(send)

    def _reuses(self):
        return self.reuse_connection and self.alias is not None

    def _kept_connection(self):
        if not self._reuses() or smtp_patched_by_a_test():
            return None
        connection = pool.take(self.alias, self._fingerprint())
        if connection is not None:
            logger.debug("Email host %r: reusing a kept connection.", self.alias)
        return connection

    @sensitive_variables()
    def _fingerprint(self):
        return pool.fingerprint(
            self.host,
            self.port,
            self.username,
            self.password,
            self.use_tls,
            self.use_ssl,
            self.timeout,
            self.ssl_cafile,
            self.ssl_certfile,
            self.ssl_keyfile,
            self.oauth2,
        )


def usage_of(connection):
    """
    Return what a connection this package opened has done, or None for one a
    caller set, such as the mock in Django's own tests.
    """
    usage = getattr(connection, "email_hosts_usage", None)
    return usage if isinstance(usage, pool.Usage) else None
