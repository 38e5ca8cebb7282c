"""
Store an outbox message larger than a part in parts, and read any message
back whole: so that no statement carries, and no Fernet token holds, more
than a part, whatever the message's size.
"""

from django.views.decorators.debug import sensitive_variables

from email_hosts.encryption import UndecryptableValue
from email_hosts.outbox.models import UNREADABLE, OutboxMessagePart
from email_hosts.outbox.render_at_delivery import render_recipe


#: The most message bytes one statement carries: a message up to this size
#: stays in its row, a larger one goes in parts of this size. Encrypted, a
#: part is about 1.4 MB, well below MariaDB's ``max_allowed_packet`` (16 MiB
#: by default), and a 35 MB message is 35 statements.
PART_BYTES = 1024 * 1024


class UnreadablePart(Exception):
    """No current key decrypts a part of a message whose row they decrypt."""

    def __str__(self):
        return UNREADABLE


class UnrenderableMessage(UnreadablePart):
    """
    Django could not render a message queued as what it says
    (render_at_delivery.py): a Django upgrade between queueing and sending
    can do that. The message's fault, not the relay's.
    """

    def __init__(self, error):
        super().__init__()
        self.error = type(error).__name__

    def __str__(self):
        return (
            f"Django could not render this message as it was queued"
            f" ({self.error}), so it was not sent. Queue it again from the"
            f" code that sent it."
        )


def in_parts(message):
    """Return whether ``message`` (bytes as sent) is stored in parts."""
    return len(message) > PART_BYTES


@sensitive_variables()
def save_in_parts(row, *, using):
    """
    Insert ``row``, an unsaved ``OutboxMessage`` whose message is larger
    than a part, with its message in parts: one statement each, so that each
    part is encrypted, sent and let go before the next.
    """
    message = memoryview(row.message)
    row.message = b""
    row.parts = -(-len(message) // PART_BYTES)
    row.save(force_insert=True, using=using)
    parts = OutboxMessagePart.objects.using(using)
    for position in range(row.parts):
        start = position * PART_BYTES
        parts.create(
            outbox_message=row,
            position=position,
            chunk=message[start : start + PART_BYTES],
        )


@sensitive_variables()
def message_parts(row):
    """
    Yield the message of ``row`` (an ``OutboxMessage``) in the parts it is
    stored in, one read at a time. Raise :class:`UnreadablePart` for a part
    no current key decrypts.
    """
    if row.render_at_delivery:
        try:
            data = render_recipe(row.message)
        except Exception as exc:  # noqa: BLE001 -- whatever Django raises, without its text
            raise UnrenderableMessage(exc) from None
        yield data
        return
    if not row.parts:
        yield row.message
        return
    chunks = OutboxMessagePart.objects.using(row._state.db).filter(outbox_message=row)
    for position in range(row.parts):
        # One part a query: a database driver holds a whole result in memory.
        chunk = chunks.values_list("chunk", flat=True).get(position=position)
        if isinstance(chunk, UndecryptableValue):
            raise UnreadablePart
        yield chunk


@sensitive_variables()
def message_bytes(row):
    """
    Return the message of ``row`` as sent (bytes), or
    :class:`~email_hosts.encryption.UndecryptableValue` if no current key
    decrypts its row. Raise :class:`UnreadablePart` if its row decrypts and
    one of its parts does not.
    """
    if isinstance(row.message, UndecryptableValue):
        return row.message
    return b"".join(message_parts(row))
