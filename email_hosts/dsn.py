"""
Parse and validate email host DSNs such as
``submission://user:pass@smtp.example.com:587?timeout=10``.

This is the only place that knows the DSN rules. The model, the forms, the
system checks and ``get_connection()`` all call :func:`parse_dsn`, so they
cannot disagree. Error messages never repeat the password.
"""

import os
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables
from speckenv_django import INTERESTING_MAIL_BACKENDS

from email_hosts import relays
from email_hosts.conf import MAIL_PORTS, MAX_TIMEOUT
from email_hosts.domains import parse_domains
from email_hosts.dsn_errors import invalid, render_error
from email_hosts.keys import parse_keys
from email_hosts.oauth2 import config as oauth2_config
from email_hosts.senders import validate_sender
from email_hosts.transports import (
    SMTP_SCHEMES,
    TLS_FILE_PARAMETERS,
    Transport,
    format_dsn,
)


# Where they were defined before; Transport is documented as dsn.Transport.
__all__ = [
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
SMTP_ONLY_PARAMETERS = {
    "ssl",
    "tls",
    "timeout",
    *TLS_FILE_PARAMETERS,
    *oauth2_config.PARAMETERS,
}
TRUE_FLAG_VALUES = {"", "1", "true", "yes", "on"}
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


def _shown(parts, text):
    """
    Return ``text`` from the DSN for an error message, or an ellipsis when it
    could be part of a password: without ``@``, ``user:password`` looks like
    ``host:port``, and a password's unquoted ``?`` starts the query.
    """
    return text if "@" in parts.netloc or ":" not in parts.netloc else "…"


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
                name=_shown(parts, name),
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


def _flag(query, name):
    value = query.get(name)
    if value is None:
        return False
    if value.lower() not in TRUE_FLAG_VALUES:
        raise invalid("dsn_flag_value", name=name)
    return True


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


def _host(parts):
    if not (host := parts.hostname):
        raise invalid("dsn_missing_host", scheme=parts.scheme)
    if not relays.is_valid_hostname(host):
        # Before any "@" or ":", so at most a user name, never a password.
        raise invalid("dsn_host", host=host)
    return host


def _timeout(parts, query):
    timeout = query.get("timeout")
    if timeout is None:
        return None
    # isdigit() alone admits "²", which int() refuses.
    if not (timeout.isascii() and timeout.isdigit()) or not (
        0 < int(timeout) <= MAX_TIMEOUT
    ):
        raise invalid("dsn_timeout", timeout=_shown(parts, timeout), max=MAX_TIMEOUT)
    return int(timeout)


def _tls_files(query):
    files = {name: query.get(name, "") for name in TLS_FILE_PARAMETERS}
    for name, path in files.items():
        if path and not os.path.isabs(path):
            raise invalid("dsn_tls_file", name=name)
    if files["ssl_keyfile"] and not files["ssl_certfile"]:
        raise invalid("dsn_keyfile_alone")
    return files


def _credential(raw, field):
    value = unquote(raw or "")
    if not value.isascii():
        raise invalid(f"dsn_{field}_non_ascii")
    if not value.isprintable():
        raise invalid(f"dsn_{field}_control")
    return value


def _default_from_email(parts, query):
    sender = query.get("_default_from_email", "")
    if sender:
        try:
            validate_sender(sender)
        except ValidationError:
            raise invalid(
                "dsn_default_from_email", value=_shown(parts, sender)
            ) from None
    return sender


def _routing(query):
    """Return the ``_sender_domains`` and ``_backups`` keyword arguments."""
    try:
        domains = parse_domains(query.get("_sender_domains", ""))
    except ValidationError as exc:
        raise invalid("dsn_sender_domains", value=exc.params["domain"]) from None
    try:
        backups = parse_keys(query.get("_backups", ""))
    except ValidationError as exc:
        raise invalid("dsn_backups", value=exc.params["key"]) from None
    return {"sender_domains": domains, "backups": backups}


def _smtp_transport(parts, query, port):
    host = _host(parts)
    use_ssl = _flag(query, "ssl")
    use_tls = _flag(query, "tls") or (parts.scheme == "submission" and not use_ssl)
    if use_ssl and "tls" in query:
        raise invalid("dsn_ssl_and_tls")
    if port is None:
        port = 465 if use_ssl else 587 if parts.scheme == "submission" else 25
    username = _credential(parts.username, "user")
    password = _credential(parts.password, "password")
    oauth2 = oauth2_config.parse(query, username=username, password=password)
    if oauth2 and not (use_tls or use_ssl):
        raise invalid("dsn_oauth2_plaintext")
    return Transport(
        scheme=parts.scheme,
        host=host,
        port=port,
        username=username,
        password=password,
        use_tls=use_tls,
        use_ssl=use_ssl,
        timeout=_timeout(parts, query),
        **_tls_files(query),
        oauth2=oauth2,
        default_from_email=_default_from_email(parts, query),
        **_routing(query),
    )


def _local_transport(parts, query):
    if parts.netloc:
        raise invalid("dsn_local_netloc", scheme=parts.scheme)
    if given := sorted(SMTP_ONLY_PARAMETERS.intersection(query)):
        raise invalid(
            "dsn_local_parameters", scheme=parts.scheme, names=", ".join(given)
        )
    return Transport(
        scheme=parts.scheme,
        default_from_email=_default_from_email(parts, query),
        **_routing(query),
    )


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
            username = _credential(username, "user")
            password = _credential(password, "password")
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
        return _smtp_transport(parts, query, port)
    return _local_transport(parts, query)


def relay_allowed(transport):
    """
    Return whether a stored host may send through ``transport``'s relay and
    port (``EMAIL_HOSTS_ALLOWED_RELAYS``). Development backends have none.
    """
    return not transport.is_smtp or relays.is_allowed(transport.host, transport.port)


def check_relay_allowed(transport):
    """Raise ``ValidationError`` unless :func:`relay_allowed`."""
    if not relay_allowed(transport):
        raise invalid(
            "dsn_relay_not_allowed",
            relay=relays.address(transport.host, transport.port),
            ports=", ".join(map(str, MAIL_PORTS)),
        )


@sensitive_variables()
def validate_dsn(dsn):
    """
    Validator for the stored DSN: raise if :func:`parse_dsn` would, or if the
    relay is not allowed for stored hosts.
    """
    check_relay_allowed(parse_dsn(dsn))
