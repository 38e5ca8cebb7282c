"""
Parse and validate email host DSNs such as
``submission://user:pass@smtp.example.com:587?timeout=10``.

This package is the only place that knows the DSN rules. The model, the
forms, the system checks and ``get_connection()`` all call
:func:`parse_dsn`, so they cannot disagree. Error messages never repeat the
password.

Import from here; the modules are private: ``parsing`` reads a DSN,
``builders`` turns its parts into a :class:`Transport` (``transport``, which
``format_dsn`` writes back), ``relays`` checks relay names and
``EMAIL_HOSTS_ALLOWED_RELAYS``, and ``errors`` words every problem.
"""

from django.views.decorators.debug import sensitive_variables

from email_hosts.dsn.errors import render_error
from email_hosts.dsn.parsing import (
    QUERY_PARAMETERS,
    credentials_broke_the_url,
    parse_dsn,
)
from email_hosts.dsn.relays import check_relay_allowed, relay_allowed
from email_hosts.dsn.transport import (
    SMTP_SCHEMES,
    TLS_FILE_PARAMETERS,
    Transport,
    format_dsn,
)


__all__ = [
    "QUERY_PARAMETERS",
    "SMTP_SCHEMES",
    "TLS_FILE_PARAMETERS",
    "Transport",
    "check_relay_allowed",
    "credentials_broke_the_url",
    "format_dsn",
    "parse_dsn",
    "relay_allowed",
    "render_error",
    "validate_dsn",
]


# Defined here, not in a module below: migrations name it by this path.
@sensitive_variables()
def validate_dsn(dsn):
    """
    Validator for the stored DSN: raise if :func:`parse_dsn` would, or if the
    relay is not allowed for stored hosts.
    """
    check_relay_allowed(parse_dsn(dsn))
