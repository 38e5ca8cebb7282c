"""
The largest message a relay takes (the SIZE extension, RFC 1870): a larger
message fails at once and for good, as no retry can make it smaller.
"""

import smtplib


class MessageTooBig(smtplib.SMTPException):
    """
    The relay takes no message this big: it announced a smaller SIZE limit,
    so the message was not sent, or it refused the message for its size.
    An ``SMTPException``, so that ``fail_silently`` hides it as it hides the
    relay's own refusal.
    """

    def __init__(self, size, *, limit=None, answer=""):
        #: The message's size in bytes, as sent.
        self.size = size
        #: The relay's SIZE limit, or None if it answered ``answer`` instead.
        self.limit = limit
        self.answer = answer
        super().__init__(size, limit, answer)

    @classmethod
    def refused(cls, size, exc):
        """Return the error for a relay's answer ``exc`` that refused ``size`` bytes."""
        text = exc.smtp_error
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return cls(size, answer=f"{exc.smtp_code} {text}")

    def __str__(self):
        if self.limit is not None:
            return (
                f"The message is {self.size:,} bytes and the relay takes at most"
                f" {self.limit:,} (its SIZE limit), so it was not sent. Attach"
                f" less (a link to large files), or send it through a host that"
                f" takes bigger messages."
            )
        return (
            f"The relay refused the message, {self.size:,} bytes, as too big:"
            f" {self.answer}"
        )


def announced_limit(connection):
    """
    Return the SIZE limit ``connection``'s relay announced after EHLO, or
    None for none: no SIZE, or ``SIZE 0``, which RFC 1870 reads as no fixed
    limit.
    """
    value = connection.esmtp_features.get("size", "").strip()
    return int(value) if value.isdigit() and int(value) else None


def refuse_if_over(connection, message):
    """Raise ``MessageTooBig`` if ``message`` is over the relay's SIZE limit."""
    limit = announced_limit(connection)
    if limit is not None and len(message) > limit:
        raise MessageTooBig(len(message), limit=limit)
