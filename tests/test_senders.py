import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given, strategies

from email_hosts.senders import (
    _PLAIN_SENDER,
    match_plain_sender,
    parse_mailboxes,
    validate_sender,
)
from tests.fuzzing import fuzz


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


PLAIN_OR_NEARLY = strategies.one_of(
    strategies.from_regex(_PLAIN_SENDER, fullmatch=True),
    # Near misses: the parser must have the last word on these.
    strategies.text(alphabet="Ab.-_ <>@\"'(),;:", max_size=40),
)


@given(PLAIN_OR_NEARLY)
@fuzz()
def test_the_quick_path_agrees_with_the_email_package(value):
    plain = match_plain_sender(value)
    if plain is None:
        return
    parsed = parse_mailboxes(value)
    assert parsed is not None
    assert not parsed.defective
    assert len(parsed.mailboxes) == 1
    assert plain["addr_spec"] == parsed.mailboxes[0].addr_spec
    assert plain["domain"] == parsed.mailboxes[0].domain


@given(strategies.from_regex(_PLAIN_SENDER, fullmatch=True))
@fuzz()
def test_the_quick_path_accepts_only_what_django_validates(value):
    address = match_plain_sender(value)["addr_spec"]
    if len(address) <= 320:
        validate_email(address)
        validate_sender(value)
    else:
        with pytest.raises(ValidationError):
            validate_sender(value)


@pytest.mark.parametrize(
    "sender", ["Shop Team <shop@example.com>", "shop.team@mail.example.com"]
)
def test_the_common_senders_take_the_quick_path(sender):
    assert match_plain_sender(sender) is not None


@pytest.mark.parametrize(
    "sender",
    [
        '"Shop, Inc." <shop@example.com>',
        "Shop. <shop@example.com>",
        "Bücher <shop@example.com>",
        "shop@[127.0.0.1]",
        "shop@localhost",
        "shop@example.c0m",
        "shop@-example.com",
        "Shop <shop@example.com",
    ],
)
def test_everything_else_goes_to_the_email_package(sender):
    assert match_plain_sender(sender) is None
