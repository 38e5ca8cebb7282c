"""A message as Django's SMTP backend would send it: its envelope and bytes."""

import dataclasses
import email.policy
import functools

from django.conf import settings
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address


@dataclasses.dataclass(frozen=True)
class Rendered:
    from_email: str
    recipients: list
    #: Out of the repr: it may hold a password-reset link.
    message: bytes = dataclasses.field(repr=False)
    message_id: str = ""
    #: Whether ``message`` holds what the message says, as JSON, to render
    #: when it leaves (render_at_delivery.py), not its bytes.
    render_at_delivery: bool = False


# Django >= 6.0 prepares addresses in the backend; prep_address() uses no
# state of it, so an instance that was never configured serves.
_SMTP_BACKEND = smtp.EmailBackend.__new__(smtp.EmailBackend)


def render(message):
    """
    Return ``message`` (an ``EmailMessage``) as Django's SMTP backend sends
    it. Raise ``ValueError`` for an address it would refuse, as it does.
    """
    mime = mime_message(message)
    from_email, recipients = envelope(message)
    return Rendered(
        from_email=from_email,
        recipients=recipients,
        message=as_bytes(mime),
        message_id=str(mime["Message-ID"] or ""),
    )


def mime_message(message):
    """Return the MIME message Django's SMTP backend makes of ``message``."""
    if hasattr(_SMTP_BACKEND, "prep_address"):
        return message.message(policy=email.policy.SMTP)
    return message.message()  # Django < 6.0


def as_bytes(mime):
    """Return ``mime`` (from ``mime_message()``) as Django's SMTP backend sends it."""
    if hasattr(_SMTP_BACKEND, "prep_address"):
        return mime.as_bytes()
    return mime.as_bytes(linesep="\r\n")  # Django < 6.0


def envelope(message):
    """
    Return the envelope sender and recipients of ``message`` as Django's
    SMTP backend writes them. Raise ``ValueError`` for an address it would
    refuse, as it does.
    """
    encoding = message.encoding
    return envelope_address(message.from_email, encoding), [
        envelope_address(address, encoding) for address in message.recipients()
    ]


def envelope_address(address, encoding=None):
    """Return ``address`` as Django's SMTP backend writes it in the envelope."""
    if not isinstance(address, str):  # Lazy text, or a (name, address) pair.
        return _envelope_address(address, encoding, settings.DEFAULT_CHARSET)
    return _known_envelope_address(address, encoding, settings.DEFAULT_CHARSET)


# Most of a site's mail has the same sender, and parsing it is a good part of
# queueing a message.
@functools.lru_cache(maxsize=1024)
def _known_envelope_address(address, encoding, default_charset):
    return _envelope_address(address, encoding, default_charset)


def _envelope_address(address, encoding, default_charset):
    if hasattr(_SMTP_BACKEND, "prep_address"):
        return _SMTP_BACKEND.prep_address(address)
    return sanitize_address(address, encoding or default_charset)  # < 6.0
