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
        prepare = _SMTP_BACKEND.prep_address
        mime = message.message(policy=email.policy.SMTP)
        data = mime.as_bytes()
    else:  # Django < 6.0
        encoding = message.encoding or settings.DEFAULT_CHARSET

        def prepare(address):
            return sanitize_address(address, encoding)

        mime = message.message()
        data = mime.as_bytes(linesep="\r\n")
    return Rendered(
        from_email=prepare(message.from_email),
        recipients=[prepare(address) for address in message.recipients()],
        message=data,
        message_id=str(mime["Message-ID"] or ""),
    )
