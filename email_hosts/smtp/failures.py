"""
What went wrong when talking to a relay: in words an admin can act on, and
whether another relay should try the same messages.
"""

import re
import smtplib
import socket
import ssl

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from email_hosts.exceptions import DeliveryUncertain, OAuth2TokenError
from email_hosts.smtp.size_limit import MessageTooBig


#: An enhanced status code (RFC 3463) at the start of a relay's answer.
ENHANCED_CODE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}(?=\s|$)")


def explain(exc, *, host, port, timeout):  # noqa: PLR0911, PLR0912 -- one return per kind of failure
    """
    Return why sending through the relay ``host``:``port`` failed, and what
    to check, in words an admin can act on.
    """
    address = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(exc, DeliveryUncertain):
        return _(
            "the connection broke after the relay received a message and before"
            " it answered, so it may have accepted it"
        )
    if isinstance(exc, socket.gaierror):
        return _("the host name %(host)s could not be resolved; check its spelling") % {
            "host": host
        }
    if isinstance(exc, ConnectionRefusedError):
        return _("%(address)s refused the connection; check the host and the port") % {
            "address": address
        }
    if isinstance(exc, TimeoutError) or (
        isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc)
    ):
        return ngettext(
            "%(address)s did not answer within %(seconds)s second; check the port"
            " and the security (SSL/TLS on 465, STARTTLS on 587), and whether a"
            " firewall drops the connection",
            "%(address)s did not answer within %(seconds)s seconds; check the port"
            " and the security (SSL/TLS on 465, STARTTLS on 587), and whether a"
            " firewall drops the connection",
            timeout,
        ) % {"address": address, "seconds": timeout}
    if isinstance(exc, FileNotFoundError | PermissionError):
        return _("a TLS certificate or key file cannot be read (%(reason)s)") % {
            "reason": exc.strerror
        }
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _("TLS failed: %(reason)s") % {"reason": exc.verify_message}
    if isinstance(exc, ssl.SSLError):
        return _("TLS failed")
    if isinstance(exc, OAuth2TokenError):
        return exc.reason
    if isinstance(exc, MessageTooBig):
        return str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _login_refused(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _("the server refused the recipient")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _("the server refused the sender (%(code)s)") % {"code": exc.smtp_code}
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _not_offered(exc, address)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("the server answered %(code)s") % {"code": exc.smtp_code}
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _("the server closed the connection")
    return _("the connection failed (%(error)s)") % {"error": type(exc).__name__}


def _enhanced_code(exc):
    """Return the enhanced status code of a relay's answer, such as 5.7.139."""
    text = exc.smtp_error.decode("ascii", "replace") if exc.smtp_error else ""
    match = ENHANCED_CODE.match(text)
    return match[0] if match else ""


def _login_refused(exc):
    """Say why the relay refused the login, with a hint for known answers."""
    enhanced = _enhanced_code(exc)
    code = f"{exc.smtp_code} {enhanced}" if enhanced else str(exc.smtp_code)
    if enhanced == "5.7.30":
        return _(
            "the server no longer accepts a password for sending (%(code)s:"
            " Basic authentication is off); this host needs OAuth2 or another"
            " relay"
        ) % {"code": code}
    if enhanced == "5.7.139":
        return _(
            "the server rejected the login (%(code)s): Microsoft 365 has SMTP"
            " AUTH turned off for this mailbox or its tenant, or security"
            " defaults block it; a Microsoft 365 administrator can turn on"
            " Authenticated SMTP for the mailbox"
        ) % {"code": code}
    if enhanced == "5.7.3":
        return _(
            "the server rejected the login (%(code)s): check the password, and"
            " that Microsoft 365 allows Authenticated SMTP for this mailbox"
        ) % {"code": code}
    return _("the server rejected the login (%(code)s)") % {"code": exc.smtp_code}


def _not_offered(exc, address):
    # smtplib's starttls() and login() name the missing extension.
    if "STARTTLS" in str(exc):
        return _(
            "%(address)s does not offer STARTTLS; choose SSL/TLS with its port"
            " (usually 465), or no TLS if the relay is on a network you trust"
        ) % {"address": address}
    return _(
        "%(address)s does not offer a login (AUTH); leave the user name and"
        " password empty, or use the port that offers it (usually 587)"
    ) % {"address": address}


def _codes(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return [code for code, _message in exc.recipients.values()]
    if isinstance(exc, smtplib.SMTPResponseException):
        return [exc.smtp_code]
    return []


def is_transient(exc):
    """
    Return whether another relay may succeed where this one failed: it could
    not be reached, failed TLS, greeted or answered with a 4xx code, or
    rejected the login. A permanent (5xx) rejection of a message is not.
    """
    if isinstance(exc, DeliveryUncertain):
        return False  # The relay may have the message: never send it twice.
    if isinstance(
        exc,
        smtplib.SMTPAuthenticationError | smtplib.SMTPConnectError | OAuth2TokenError,
    ):
        return True
    if isinstance(exc, smtplib.SMTPNotSupportedError | smtplib.SMTPServerDisconnected):
        return True
    if codes := _codes(exc):
        return all(400 <= code < 500 for code in codes)
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


#: Enhanced status codes (RFC 3463) that refuse a message for its size:
#: X.3.4 "message too big for system" (Postfix, Exchange Online) and X.2.3
#: "message length exceeds administrative limit" (Gmail).
TOO_BIG_CODES = ("3.4", "2.3")


def is_too_big(exc):
    """
    Return whether a relay's answer refuses a message for good for its size:
    a 5xx with an enhanced code of ``TOO_BIG_CODES``, or 552 without an
    enhanced code (RFC 1870's answer, as aiosmtpd gives it). A 552 with
    another enhanced code, such as Gmail's 5.7.0 for a blocked attachment,
    refuses it for another reason.
    """
    if not isinstance(exc, smtplib.SMTPResponseException) or not (
        500 <= exc.smtp_code < 600
    ):
        return False
    if enhanced := _enhanced_code(exc):
        return enhanced[2:] in TOO_BIG_CODES
    return exc.smtp_code == 552


#: How relays word a temporary refusal for sending too much too fast:
#: Microsoft 365's "454 4.7.0 Throttling failure", "4.4.2 Message submission
#: rate ... exceeded", Gmail's "421 4.7.28 ... unusual rate", "4.7.0 ...
#: temporarily rate limited", Postfix's "450 4.7.1 ... too many".
THROTTLING = re.compile(
    r"throttl|\brate\b|too many|too fast|too quickly|exceeded|limit", re.IGNORECASE
)


def is_throttling(exc):
    """Return whether a relay's answer asks the sender to slow down (a 4xx)."""
    if not isinstance(exc, smtplib.SMTPResponseException) or isinstance(
        exc, smtplib.SMTPAuthenticationError
    ):
        return False
    text = exc.smtp_error.decode("utf-8", "replace") if exc.smtp_error else ""
    return 400 <= exc.smtp_code < 500 and bool(THROTTLING.search(text))
