"""Check the values of settings that hold seconds or a dict of named options."""

import dataclasses
import math

from django.core.exceptions import ImproperlyConfigured


def is_seconds(value):
    """Return whether ``value`` is a finite number of seconds, 0 or more."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value >= 0
    )


def read_options(setting, value, options_class, *, also=""):
    """
    Return the dict ``value`` of ``setting`` as ``options_class``, a
    dataclass of its options, each a number above 0 or a non-empty string
    by its type. Raise ``ImproperlyConfigured`` naming what is wrong.
    """
    fields = {field.name: field.type for field in dataclasses.fields(options_class)}
    if not isinstance(value, dict) or not set(value) <= set(fields):
        raise ImproperlyConfigured(
            f"{setting} must be {also}a dict with some of {', '.join(fields)},"
            f" not {value!r}."
        )
    for name, option in value.items():
        if fields[name] is str:
            valid, expected = isinstance(option, str) and option, "a non-empty string"
        else:
            # An int option takes no fraction; a float one takes an int too.
            valid = isinstance(option, fields[name] | int) and is_seconds(option)
            valid, expected = valid and option > 0, "a number above 0"
        if not valid:
            raise ImproperlyConfigured(
                f"{setting}[{name!r}] must be {expected}, not {option!r}."
            )
    return options_class(**value)
