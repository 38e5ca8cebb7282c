"""Build a split DSN's Transport: an SMTP relay or a local backend."""

import os
from urllib.parse import unquote

from django.core.exceptions import ValidationError

from email_hosts.conf import MAX_TIMEOUT
from email_hosts.domains import parse_domains
from email_hosts.dsn import oauth2 as oauth2_config
from email_hosts.dsn import relays
from email_hosts.dsn.errors import invalid
from email_hosts.dsn.transport import TLS_FILE_PARAMETERS, Transport
from email_hosts.keys import parse_keys
from email_hosts.senders import validate_sender


SMTP_ONLY_PARAMETERS = {
    "ssl",
    "tls",
    "timeout",
    *TLS_FILE_PARAMETERS,
    *oauth2_config.PARAMETERS,
}
TRUE_FLAG_VALUES = {"", "1", "true", "yes", "on"}


def shown(parts, text):
    """
    Return ``text`` from the DSN for an error message, or an ellipsis when it
    could be part of a password: without ``@``, ``user:password`` looks like
    ``host:port``, and a password's unquoted ``?`` starts the query.
    """
    return text if "@" in parts.netloc or ":" not in parts.netloc else "…"


def credential(raw, field):
    """Return the unquoted ``field``: ``"user"`` (name) or ``"password"``."""
    value = unquote(raw or "")
    if not value.isascii():
        raise invalid(f"dsn_{field}_non_ascii")
    if not value.isprintable():
        raise invalid(f"dsn_{field}_control")
    return value


def _flag(query, name):
    value = query.get(name)
    if value is None:
        return False
    if value.lower() not in TRUE_FLAG_VALUES:
        raise invalid("dsn_flag_value", name=name)
    return True


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
        raise invalid("dsn_timeout", timeout=shown(parts, timeout), max=MAX_TIMEOUT)
    return int(timeout)


def _tls_files(query):
    files = {name: query.get(name, "") for name in TLS_FILE_PARAMETERS}
    for name, path in files.items():
        if path and not os.path.isabs(path):
            raise invalid("dsn_tls_file", name=name)
    if files["ssl_keyfile"] and not files["ssl_certfile"]:
        raise invalid("dsn_keyfile_alone")
    return files


def _default_from_email(parts, query):
    sender = query.get("_default_from_email", "")
    if sender:
        try:
            validate_sender(sender)
        except ValidationError:
            raise invalid(
                "dsn_default_from_email", value=shown(parts, sender)
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


def smtp_transport(parts, query, port):
    """Return the Transport of an ``smtp://`` or ``submission://`` DSN."""
    host = _host(parts)
    use_ssl = _flag(query, "ssl")
    use_tls = _flag(query, "tls") or (parts.scheme == "submission" and not use_ssl)
    if use_ssl and "tls" in query:
        raise invalid("dsn_ssl_and_tls")
    if port is None:
        port = 465 if use_ssl else 587 if parts.scheme == "submission" else 25
    username = credential(parts.username, "user")
    password = credential(parts.password, "password")
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


def local_transport(parts, query):
    """Return the Transport of a development backend, such as ``console://``."""
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
