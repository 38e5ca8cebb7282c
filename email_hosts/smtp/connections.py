"""
SMTP connections that know when a message's fate became unknown (after the
final ``.`` of DATA has left and before the relay answered), and when a
connection kept for reuse turned out closed before it carried anything;
they pipeline their commands where the relay offers it (pipelining.py).
"""

import logging
import smtplib
from email.parser import BytesHeaderParser

from email_hosts.exceptions import DeliveryUncertain
from email_hosts.smtp.pipelining import PipelinesCommands


logger = logging.getLogger("email_hosts")


def message_id(message_bytes):
    """Return the Message-ID of a message as sent, or a placeholder."""
    headers = BytesHeaderParser().parsebytes(message_bytes)
    return headers.get("Message-ID") or "(a message without Message-ID)"


class _KnowsWhenDataLeft:
    """
    Raise ``DeliveryUncertain`` instead of a connection error that comes after
    the final ``.`` of DATA was handed to the socket: the relay may have
    queued the message, so sending it anywhere again could deliver it twice.
    """

    #: The host key, for the error and the log; the backend sets it.
    email_host_key = None
    _in_data = False
    _final_dot_sent = False

    def send(self, s):
        super().send(s)
        # data() sends its command as str and the message, ending in the
        # final ".", as bytes.
        if self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self._final_dot_sent = True

    def data(self, msg):
        return self._watching_data(
            msg, lambda: super(_KnowsWhenDataLeft, self).data(msg)
        )

    def _watching_data(self, msg, transfer):
        """Return what ``transfer()`` returns: the sending of ``msg`` as DATA."""
        self._in_data, self._final_dot_sent = True, False
        try:
            return transfer()
        except OSError as exc:
            if not self._final_dot_sent:
                raise
            uncertain = DeliveryUncertain(
                key=self.email_host_key, message_ids=[message_id(msg)]
            )
            logger.error("%s", uncertain)
            raise uncertain from exc
        finally:
            self._in_data = False


class KeptConnectionLost(Exception):
    """
    A connection taken from the idle ones closed before the relay accepted
    ``MAIL FROM``: nothing was sent, so a new connection may send the message.

    Not an ``SMTPException``, so that ``fail_silently`` cannot swallow it
    before the backend reconnects.
    """


class _KnowsWhenKeptConnectionLost:
    """
    Raise ``KeptConnectionLost`` if the first ``MAIL FROM`` on a connection
    that waited idle finds it closed: the relay dropped it (idle timeout,
    restart) or answers 421. Later failures are the relay's answer to this
    message and are raised as they are.
    """

    #: True while a kept connection has not yet been answered.
    untested = False

    def mail(self, sender, options=()):
        return self._first_mail_reply(
            lambda: super(_KnowsWhenKeptConnectionLost, self).mail(sender, options)
        )

    def _first_mail_reply(self, ask):
        """Return the relay's reply to ``MAIL FROM``, which ``ask()`` sends and reads."""
        if not self.untested:
            return ask()
        self.untested = False
        try:
            code, reply = ask()
        except smtplib.SMTPServerDisconnected:
            raise KeptConnectionLost from None
        if code == 421:
            self.close()
            raise KeptConnectionLost
        return code, reply


class _LogsInWithOAuth2:
    """Log in with ``oauth2_login`` (an OAuth2 host) instead of a password."""

    def __init__(self, *args, oauth2_login=None, **kwargs):
        self.oauth2_login = oauth2_login
        super().__init__(*args, **kwargs)

    def login(self, user, password, **options):
        if self.oauth2_login is None:
            # Exactly the call smtplib would get: tests of others mock it.
            return super().login(user, password, **options)
        return self.oauth2_login(self, user)


#: smtplib as this module found it: the classes below extend these, and
#: their namespaces tell whether a test has patched one of their methods.
_SMTPLIB_CLASSES = (smtplib.SMTP, smtplib.SMTP_SSL)
_SMTPLIB_NAMESPACES = tuple(dict(vars(cls)) for cls in _SMTPLIB_CLASSES)


def smtplib_patched():
    """
    Return whether a test has replaced ``smtplib.SMTP`` or ``SMTP_SSL``, or
    one of their methods, as projects do to test their mail code
    (``mock.patch("smtplib.SMTP")``). Connections are then smtplib's own,
    made exactly as Django's backend makes them, so that the test's mock
    gets every call.
    """
    current = (smtplib.SMTP, smtplib.SMTP_SSL)
    return current != _SMTPLIB_CLASSES or any(
        vars(cls) != namespace
        for cls, namespace in zip(current, _SMTPLIB_NAMESPACES, strict=True)
    )


def is_ours(connection):
    """Return whether ``connection`` is one of this module's connections."""
    return isinstance(connection, SMTP | SMTP_SSL)


class SMTP(
    _LogsInWithOAuth2,
    PipelinesCommands,
    _KnowsWhenKeptConnectionLost,
    _KnowsWhenDataLeft,
    smtplib.SMTP,
):
    pass


class SMTP_SSL(  # noqa: N801 -- smtplib's name
    _LogsInWithOAuth2,
    PipelinesCommands,
    _KnowsWhenKeptConnectionLost,
    _KnowsWhenDataLeft,
    smtplib.SMTP_SSL,
):
    pass
