"""A message as Django's SMTP backend would send it: its envelope and bytes."""

import dataclasses
import email.policy

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


# Django >= 6.0 prepares addresses in the backend; prep_address() uses no
# state of it, so an instance that was never configured serves.
_SMTP_BACKEND = smtp.EmailBackend.__new__(smtp.EmailBackend)


def render(message):
    """
    Return ``message`` (an ``EmailMessage``) as Django's SMTP backend sends
    it. Raise ``ValueError`` for an address it would refuse, as it does.
    """
    if hasattr(_SMTP_BACKEND, "prep_address"):
        mime = message.message(policy=email.policy.SMTP)
        data = mime.as_bytes()
    else:  # Django < 6.0
        mime = message.message()
        data = mime.as_bytes(linesep="\r\n")
    encoding = message.encoding
    return Rendered(
        from_email=envelope_address(message.from_email, encoding),
        recipients=[
            envelope_address(address, encoding) for address in message.recipients()
        ],
        message=data,
        message_id=str(mime["Message-ID"] or ""),
    )


def envelope_address(address, encoding=None):
    """Return ``address`` as Django's SMTP backend writes it in the envelope."""
    if hasattr(_SMTP_BACKEND, "prep_address"):
        return _SMTP_BACKEND.prep_address(address)
    return sanitize_address(address, encoding or settings.DEFAULT_CHARSET)  # < 6.0
