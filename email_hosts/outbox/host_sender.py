"""
Give an outbox message without a sender of its own its host's sender when
it leaves, not when it is queued: the request that queues it reads no host.
"""

import email.message
import email.policy
import functools
import re

from django.conf import settings

from email_hosts.outbox.rendering import envelope_address


#: The From header and its folded lines, at the start of a line.
_FROM_HEADER = re.compile(rb"^From:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*", re.MULTILINE)


def has_no_sender(row):
    """Return whether ``row`` was queued from ``DEFAULT_FROM_EMAIL``, as Django sends it."""
    return row.from_email == envelope_address(settings.DEFAULT_FROM_EMAIL)


def with_host_sender(row, data, sender):
    """
    Return the envelope sender and the bytes of ``row`` (whose bytes are
    ``data``) as they leave: from ``sender``, a host's default sender, if
    the message has no sender of its own, or as queued.
    """
    if not sender or not has_no_sender(row):
        return row.from_email, data
    # Only the header is copied on its own: a big message is copied once.
    blank_line = data.find(b"\r\n\r\n")
    end = len(data) if blank_line < 0 else blank_line + 2
    new_head, replaced = _FROM_HEADER.subn(
        lambda _match: _from_header(sender), data[:end], 1
    )
    if not replaced:
        return row.from_email, data
    return envelope_address(sender), b"".join((new_head, memoryview(data)[end:]))


# A host's sender is the same for all its mail: render its header once.
@functools.lru_cache(maxsize=256)
def _from_header(sender):
    header = email.message.EmailMessage(policy=email.policy.SMTP)
    header["From"] = sender
    return header.as_bytes().removesuffix(b"\r\n")
