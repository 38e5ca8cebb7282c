"""Validate sender addresses such as ``Shop <shop@example.com>``."""

from email.headerregistry import AddressHeader

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _


def parse_address_header(value):
    """
    Return the email package's parse of an address header value, or None if
    it cannot parse it at all (it raises IndexError on ``shop@``).
    """
    try:
        return AddressHeader.value_parser(str(value))
    except (IndexError, ValueError, TypeError):
        return None


def validate_sender(value):
    """
    Ensure ``value`` is ``addr@example.com`` or ``Name <addr@example.com>``.

    Raise ``ValidationError`` for anything else, including line breaks, which
    would let a sender inject headers.
    """
    if any(char in value for char in "\r\n\0"):
        raise ValidationError(
            _("The sender must not contain line breaks."), code="sender_line_break"
        )
    parsed = parse_address_header(value)
    mailboxes = parsed.all_mailboxes if parsed else []
    if not parsed or parsed.all_defects or len(mailboxes) != 1:
        raise ValidationError(
            _(
                "Enter one sender as addr@example.com or Name <addr@example.com>,"
                " not %(value)r."
            ),
            code="sender_invalid",
            params={"value": value},
        )
    try:
        validate_email(mailboxes[0].addr_spec)
    except ValidationError:
        raise ValidationError(
            _("The sender address %(address)r is not a valid email address."),
            code="sender_invalid",
            params={"address": mailboxes[0].addr_spec},
        ) from None
