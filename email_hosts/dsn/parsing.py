"""Read a DSN into its Transport, or raise the error that names its problem."""

import re
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables
from speckenv_django import INTERESTING_MAIL_BACKENDS

from email_hosts.conf import MAX_TIMEOUT
from email_hosts.dsn import oauth2 as oauth2_config
from email_hosts.dsn.builders import (
    credential,
    local_transport,
    shown,
    smtp_transport,
)
from email_hosts.dsn.errors import invalid
from email_hosts.dsn.transport import SMTP_SCHEMES, TLS_FILE_PARAMETERS, Transport


SCHEMES = set(INTERESTING_MAIL_BACKENDS)
QUERY_PARAMETERS = {
    "ssl",
    "tls",
    "timeout",
    *TLS_FILE_PARAMETERS,
    *oauth2_config.PARAMETERS,
    "_default_from_email",
    "_sender_domains",
    "_backups",
}
#: The ASCII characters that are whitespace or not printable.
_BLANK_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
#: A user name or password character that a URL needs no escape for, or an
#: escape; never ``:``, ``@``, ``/``, ``?`` or ``#``, which end the part.
_USERINFO = r"(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})"
#: ``submission://user:password@smtp.example.com:587?timeout=10`` and its
#: shorter forms: what nearly every DSN looks like, read by one regex in a
#: few microseconds. Every other DSN, malformed ones included, goes through
#: urlsplit and the checks below, which word the errors. A property test
#: checks that both read every common DSN the same.
_COMMON_SMTP_DSN = re.compile(
    r"(?P<scheme>smtp|submission)://"
    rf"(?:(?P<username>{_USERINFO}+)(?::(?P<password>{_USERINFO}*))?@)?"
    # Labels as relays.is_valid_hostname() takes them; the length is checked after.
    r"(?P<host>(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*)"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
    r"(?:\?timeout=(?P<timeout>[1-9][0-9]{0,3}))?"
)


def _check_characters(dsn):
    if not dsn.isascii():
        raise invalid("dsn_non_ascii")
    if _BLANK_OR_CONTROL.search(dsn):
        raise invalid("dsn_whitespace")


def _query(parts):
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _value in pairs]
    for name in names:
        if name not in QUERY_PARAMETERS:
            raise invalid(
                "dsn_unknown_parameter",
                name=shown(parts, name),
                known=", ".join(sorted(QUERY_PARAMETERS)),
            )
        if names.count(name) > 1:
            raise invalid("dsn_repeated_parameter", name=name)
    return dict(pairs)


#: The query parameters whose values may hold an "@" of their own.
_MAY_HOLD_AT = {"_default_from_email", *TLS_FILE_PARAMETERS}


def credentials_broke_the_url(parts):
    """
    Return whether a user name or password with an unquoted ``/``, ``?`` or
    ``#`` cut the DSN short, leaving the rest of it, ``@host`` included,
    after what looks like the host. With an ``@`` in the password too, the
    host seems to be there, but is a piece of the password.
    """
    query = parse_qsl(parts.query, keep_blank_values=True)
    return (
        "@" in parts.path
        or "@" in parts.fragment
        or any(
            "@" in name or ("@" in value and name not in _MAY_HOLD_AT)
            for name, value in query
        )
    )


def _port(parts):
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        if port_text.isascii() and port_text.isdigit():
            raise invalid("dsn_port_range") from None
        if "@" not in parts.netloc:
            # user:password without @host: the "port" is the password.
            raise invalid("dsn_port_or_password") from None
        raise invalid("dsn_port_not_a_number", port=port_text) from None
    if port == 0:
        raise invalid("dsn_port_range")
    return port


@sensitive_variables()
def parse_dsn(dsn):
    """
    Return the :class:`Transport` a DSN describes.

    Raise ``ValidationError`` naming the problem, never the password, if the
    DSN is malformed or would fail only later, at send time.
    """
    return _parse_common(dsn) or _parse_any(dsn)


@sensitive_variables()
def _parse_common(dsn):
    """
    Return the transport of a DSN in the common form, or None: for another
    form, or a problem that :func:`_parse_any` has the words for.
    """
    match = _COMMON_SMTP_DSN.fullmatch(dsn) if isinstance(dsn, str) else None
    if match is None:
        return None
    scheme, host, port, timeout = match.group("scheme", "host", "port", "timeout")
    host = host.lower()
    port = int(port) if port else 587 if scheme == "submission" else 25
    timeout = int(timeout) if timeout else None
    if port > 65535 or (timeout or 0) > MAX_TIMEOUT or len(host) > 253:
        return None
    username, password = match.group("username", "password")
    username, password = username or "", password or ""
    # Without escapes, the regex admitted printable ASCII alone.
    if "%" in username or "%" in password:
        try:
            username = credential(username, "user")
            password = credential(password, "password")
        except ValidationError:
            return None
    return Transport(
        scheme=scheme,
        host=host,
        port=port,
        username=username,
        password=password,
        use_tls=scheme == "submission",
        timeout=timeout,
    )


@sensitive_variables()
def _parse_any(dsn):
    if not isinstance(dsn, str) or not dsn:
        raise invalid("dsn_empty")
    _check_characters(dsn)
    try:
        parts = urlsplit(dsn)
    except ValueError:
        # The message may quote the netloc, password included.
        raise invalid("dsn_not_a_url") from None
    if not dsn.startswith(f"{parts.scheme}://"):
        # Without "://", the "scheme" may be a user name or a password.
        raise invalid("dsn_no_scheme")
    if parts.scheme not in SCHEMES:
        raise invalid(
            "dsn_scheme",
            scheme=parts.scheme,
            known=", ".join(sorted(SCHEMES)),
        )
    if credentials_broke_the_url(parts):
        raise invalid("dsn_unquoted_credentials")
    if parts.path not in ("", "/") or parts.fragment:
        raise invalid("dsn_trailing_text")
    # The port before the query: a password cut short by "?" fails here.
    port = _port(parts) if parts.scheme in SMTP_SCHEMES else None
    query = _query(parts)
    if parts.scheme in SMTP_SCHEMES:
        return smtp_transport(parts, query, port)
    return local_transport(parts, query)
