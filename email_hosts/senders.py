"""Validate sender addresses such as ``Shop <shop@example.com>``."""

import re
import typing
from email.headerregistry import AddressHeader

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: ``shop@example.com`` or ``Shop Team <shop@example.com>`` in plain ASCII
#: words, under a domain with a top-level domain of letters: what nearly
#: every sender looks like, matched in about a microsecond, and valid as it
#: stands. The email package and Django's address validator take about 80
#: and 4, so they are asked only about the rest. Property tests check that
#: both agree with every plain sender.
_PLAIN_SENDER = re.compile(
    rf"(?:(?P<name>{_ATOM}(?: {_ATOM})*) <)?"
    rf"(?P<addr_spec>{_ATOM}(?:\.{_ATOM})*@(?P<domain>(?:{_LABEL}\.)+[A-Za-z]{{2,63}}))"
    r"(?(name)>)"
)
#: The longest address Django's validator accepts (RFC 3696, section 3).
_MAX_ADDRESS_LENGTH = 320


def match_plain_sender(value):
    """
    Return the match of ``value`` as a plain sender, with the groups
    ``addr_spec`` and ``domain``, or None if only the email package can
    tell what it is.
    """
    return _PLAIN_SENDER.fullmatch(value)


class Mailbox(typing.NamedTuple):
    addr_spec: str
    domain: str


class ParsedAddresses(typing.NamedTuple):
    mailboxes: list
    #: Whether the email package found defects in the value.
    defective: bool


def parse_mailboxes(value):
    """
    Return the email package's parse of an address header value as
    :class:`ParsedAddresses`, or None if it cannot parse it: its parser
    raises errors of its own on some malformed values (IndexError on
    ``shop@``, AttributeError on ``a@[``), and on others lists a group
    among the mailboxes (``g: a@example.com;https://[abc``).
    """
    try:
        parsed = AddressHeader.value_parser(str(value))
        mailboxes = [
            Mailbox(str(mailbox.addr_spec), mailbox.domain)
            for mailbox in parsed.all_mailboxes
        ]
        return ParsedAddresses(mailboxes, bool(parsed.all_defects))
    except Exception:  # noqa: BLE001 -- the parser's own bugs, as above.
        return None


def validate_sender(value):
    """
    Ensure ``value`` is ``addr@example.com`` or ``Name <addr@example.com>``.

    Raise ``ValidationError`` for anything else, including line breaks, which
    would let a sender inject headers.
    """
    plain = match_plain_sender(value)
    if plain and len(plain["addr_spec"]) <= _MAX_ADDRESS_LENGTH:
        return  # A plain sender has no line break.
    if any(char in value for char in "\r\n\0"):
        raise ValidationError(
            _("The sender must not contain line breaks."), code="sender_line_break"
        )
    parsed = parse_mailboxes(value)
    if not parsed or parsed.defective or len(parsed.mailboxes) != 1:
        raise ValidationError(
            _(
                "Enter one sender as addr@example.com or Name <addr@example.com>,"
                " not %(value)r."
            ),
            code="sender_invalid",
            params={"value": value},
        )
    _validate_address(parsed.mailboxes[0].addr_spec)


def _validate_address(addr_spec):
    try:
        validate_email(addr_spec)
    except ValidationError:
        raise ValidationError(
            _("The sender address %(address)r is not a valid email address."),
            code="sender_invalid",
            params={"address": addr_spec},
        ) from None
