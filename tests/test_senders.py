import pytest
from django.core.exceptions import ValidationError

from email_hosts.senders import validate_sender


@pytest.mark.parametrize(
    "sender",
    ["shop@example.com", "Shop <shop@example.com>", '"Shop, Inc." <shop@example.com>'],
)
def test_accepts_address_with_or_without_name(sender):
    validate_sender(sender)


@pytest.mark.parametrize(
    ("sender", "code"),
    [
        ("Shop <shop@example.com>\r\nBcc: x@example.com", "sender_line_break"),
        ("shop@example.com\n", "sender_line_break"),
        ("shop", "sender_invalid"),
        ("Shop <shop>", "sender_invalid"),
        ("a@example.com, b@example.com", "sender_invalid"),
        ("Shop <shop@example.com", "sender_invalid"),
        ("shop@exa mple.com", "sender_invalid"),
    ],
)
def test_refuses_anything_else(sender, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_sender(sender)
    assert excinfo.value.code == code
