"""Host keys, such as ``shop``: their syntax, and lists of them."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


KEY = re.compile(r"^[-a-zA-Z0-9_]+$")


def parse_keys(text):
    """Return the host keys in a comma- or space-separated list, in order."""
    keys = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        if not KEY.match(item):
            raise ValidationError(
                _("%(key)r is not a host key: use letters, digits, - and _."),
                code="key_invalid",
                params={"key": item},
            )
        if item not in keys:
            keys.append(item)
    return tuple(keys)


def validate_keys(text):
    """Validator for fields that hold a list of host keys."""
    parse_keys(text)
