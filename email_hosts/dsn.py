"""
Parse and validate email host DSNs such as
``submission://user:pass@smtp.example.com:587?timeout=10``.

This is the only place that knows the DSN rules. The model, the forms, the
system checks and ``get_connection()`` all call :func:`parse_dsn`, so they
cannot disagree. Error messages never repeat the password.
"""

import dataclasses
import os
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables
from speckenv_django import INTERESTING_MAIL_BACKENDS

from email_hosts import relays
from email_hosts.conf import MAX_TIMEOUT
from email_hosts.domains import parse_domains
from email_hosts.routing import parse_keys
from email_hosts.senders import validate_sender


def gettext_noop(message):
    """
    Mark ``message`` for translation. Django's own gettext_noop reads
    settings.USE_I18N, which 0.3 users' settings.py cannot offer yet when it
    calls email_hosts.mailers().
    """
    return message


SMTP_SCHEMES = {"smtp", "submission"}
SCHEMES = set(INTERESTING_MAIL_BACKENDS)
#: Files for TLS: a CA bundle to trust for this relay alone, and a client
#: certificate with its key (speckenv's names for the latter two).
TLS_FILE_PARAMETERS = ("ssl_cafile", "ssl_certfile", "ssl_keyfile")
QUERY_PARAMETERS = {
    "ssl",
    "tls",
    "timeout",
    *TLS_FILE_PARAMETERS,
    "_default_from_email",
    "_sender_domains",
    "_backups",
}
SMTP_ONLY_PARAMETERS = {"ssl", "tls", "timeout", *TLS_FILE_PARAMETERS}
TRUE_FLAG_VALUES = {"", "1", "true", "yes", "on"}


@dataclasses.dataclass(frozen=True)
class Transport:
    """
    The validated parts of a DSN.

    ``repr()`` leaves out the password, so a transport can be logged.
    """

    scheme: str
    host: str | None = None
    port: int | None = None
    username: str = ""
    password: str = dataclasses.field(default="", repr=False)
    use_tls: bool = False
    use_ssl: bool = False
    timeout: int | None = None
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    default_from_email: str = ""
    sender_domains: tuple = ()
    backups: tuple = ()

    @property
    def is_smtp(self):
        return self.scheme in SMTP_SCHEMES

    @property
    def security(self):
        """Return ``"ssl"`` (implicit TLS), ``"starttls"`` or ``"none"``."""
        return "ssl" if self.use_ssl else "starttls" if self.use_tls else "none"

    def summary(self):
        """
        Return the transport without its password, such as
        ``submission://user@smtp.example.com:587 (STARTTLS)``.
        """
        if not self.is_smtp:
            return f"{self.scheme}://"
        user = f"{self.username}@" if self.username else ""
        security = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "no TLS"}
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port} ({security[self.security]})"

    def smtp_options(self, *, default_timeout):
        """Return the keyword arguments for Django's SMTP ``EmailBackend``."""
        return {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "use_tls": self.use_tls,
            "use_ssl": self.use_ssl,
            "timeout": self.timeout or default_timeout,
            # Empty, not None: Django < 6.1 would fill None from the global
            # EMAIL_SSL_KEYFILE and EMAIL_SSL_CERTFILE settings.
            "ssl_keyfile": self.ssl_keyfile,
            "ssl_certfile": self.ssl_certfile,
        } | ({"ssl_cafile": self.ssl_cafile} if self.ssl_cafile else {})


#: Every DSN error, by code. Plain strings, so that they can be rendered
#: untranslated while settings.py is still loading; see render_error().
MESSAGES = {
    "dsn_empty": gettext_noop("Enter a DSN such as smtp://smtp.example.com."),
    "dsn_not_a_url": gettext_noop("The DSN is not a valid URL."),
    "dsn_non_ascii": gettext_noop("The DSN must be ASCII. URL-quote other characters."),
    "dsn_whitespace": gettext_noop(
        "The DSN must not contain spaces, line breaks or control characters."
    ),
    "dsn_scheme": gettext_noop("Unknown scheme %(scheme)r. Use one of %(known)s."),
    "dsn_no_scheme": gettext_noop(
        "The DSN must start with a scheme and '://', as in smtp://smtp.example.com."
    ),
    "dsn_unquoted_credentials": gettext_noop(
        "The user name or password contains '/', '?' or '#'. URL-quote them"
        " as %%2F, %%3F and %%23."
    ),
    "dsn_trailing_text": gettext_noop(
        "The DSN must end after the host and the query string."
    ),
    "dsn_unknown_parameter": gettext_noop(
        "Unknown query parameter %(name)r. Known parameters are %(known)s."
    ),
    "dsn_repeated_parameter": gettext_noop(
        "The query parameter %(name)r is given more than once."
    ),
    "dsn_flag_value": gettext_noop(
        "%(name)s takes no value. Remove it to turn it off."
    ),
    "dsn_port_range": gettext_noop("The port is out of range: use 1 to 65535."),
    "dsn_port_not_a_number": gettext_noop("Port %(port)r is not a number."),
    "dsn_port_or_password": gettext_noop(
        "The text after ':' is not a port number. If it is a password, put"
        " the host after it, as in user:password@smtp.example.com."
    ),
    "dsn_host": gettext_noop(
        "%(host)r is not a host name: each part between dots needs 1 to 63"
        " letters, digits or hyphens."
    ),
    "dsn_timeout": gettext_noop(
        "Timeout %(timeout)r is not a whole number of seconds from 1 to %(max)s."
    ),
    "dsn_tls_file": gettext_noop(
        "%(name)s must be the absolute path of a file, such as /etc/ssl/relay.pem."
    ),
    "dsn_keyfile_alone": gettext_noop(
        "ssl_keyfile needs ssl_certfile: the key belongs to a client certificate."
    ),
    "dsn_relay_not_allowed": gettext_noop(
        "The relay %(host)r is not in EMAIL_HOSTS_ALLOWED_RELAYS. Use an allowed"
        " relay, or ask whoever deploys the site to add it."
    ),
    "dsn_credentials_non_ascii": gettext_noop(
        "The %(what)s must be ASCII: SMTP servers cannot authenticate other characters."
    ),
    "dsn_credentials_control": gettext_noop(
        "The %(what)s must not contain line breaks or control characters."
    ),
    "dsn_default_from_email": gettext_noop(
        "_default_from_email %(value)r is not a valid sender. Use"
        " addr@example.com or Name <addr@example.com>."
    ),
    "dsn_sender_domains": gettext_noop(
        "_sender_domains: %(value)r is not a domain name such as example.com."
    ),
    "dsn_backups": gettext_noop(
        "_backups: %(value)r is not a host key: use letters, digits, - and _."
    ),
    "dsn_missing_host": gettext_noop(
        "%(scheme)s:// needs a host, as in %(scheme)s://smtp.example.com."
    ),
    "dsn_ssl_and_tls": gettext_noop(
        "ssl (implicit TLS) and tls (STARTTLS) exclude each other. Keep one of them."
    ),
    "dsn_local_netloc": gettext_noop(
        "%(scheme)s:// takes no host, user name or password."
    ),
    "dsn_local_parameters": gettext_noop("%(scheme)s:// does not take %(names)s."),
}


def _invalid(code, **params):
    # Always pass params, so that "%%" renders as "%" in every message.
    return ValidationError(
        gettext_lazy(MESSAGES[code]), code=code, params=params or {"_": None}
    )


def render_error(error):
    """
    Return a DSN ``ValidationError``'s message in English, without touching
    the translation machinery (which is not ready while settings load).
    """
    return MESSAGES[error.code] % (error.params or {"_": None})


def _shown(parts, text):
    """
    Return ``text`` from the DSN for an error message, or an ellipsis when it
    could be part of a password: without ``@``, ``user:password`` looks like
    ``host:port``, and a password's unquoted ``?`` starts the query.
    """
    return text if "@" in parts.netloc or ":" not in parts.netloc else "…"


def _check_characters(dsn):
    if not dsn.isascii():
        raise _invalid("dsn_non_ascii")
    if any(char.isspace() or not char.isprintable() for char in dsn):
        raise _invalid("dsn_whitespace")


def _query(parts):
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _value in pairs]
    for name in names:
        if name not in QUERY_PARAMETERS:
            raise _invalid(
                "dsn_unknown_parameter",
                name=_shown(parts, name),
                known=", ".join(sorted(QUERY_PARAMETERS)),
            )
        if names.count(name) > 1:
            raise _invalid("dsn_repeated_parameter", name=name)
    return dict(pairs)


def _credentials_broke_the_url(parts):
    """
    Return whether a user name or password with an unquoted ``/``, ``?`` or
    ``#`` cut the DSN short, leaving the rest of it after the host.
    """
    if "@" in parts.netloc:
        return False
    query = parse_qsl(parts.query, keep_blank_values=True)
    return (
        "@" in parts.path
        or "@" in parts.fragment
        or any(
            "@" in name or ("@" in value and name != "_default_from_email")
            for name, value in query
        )
    )


def _flag(query, name):
    value = query.get(name)
    if value is None:
        return False
    if value.lower() not in TRUE_FLAG_VALUES:
        raise _invalid("dsn_flag_value", name=name)
    return True


def _port(parts):
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        if port_text.isascii() and port_text.isdigit():
            raise _invalid("dsn_port_range") from None
        if "@" not in parts.netloc:
            # user:password without @host: the "port" is the password.
            raise _invalid("dsn_port_or_password") from None
        raise _invalid("dsn_port_not_a_number", port=port_text) from None
    if port == 0:
        raise _invalid("dsn_port_range")
    return port


def _host(parts):
    if not parts.hostname:
        raise _invalid("dsn_missing_host", scheme=parts.scheme)
    if not relays.is_valid_hostname(parts.hostname):
        # Before any "@" or ":", so at most a user name, never a password.
        raise _invalid("dsn_host", host=parts.hostname)
    return parts.hostname


def _timeout(parts, query):
    timeout = query.get("timeout")
    if timeout is None:
        return None
    # isdigit() alone admits "²", which int() refuses.
    if not (timeout.isascii() and timeout.isdigit()) or not (
        0 < int(timeout) <= MAX_TIMEOUT
    ):
        raise _invalid("dsn_timeout", timeout=_shown(parts, timeout), max=MAX_TIMEOUT)
    return int(timeout)


def _tls_files(query):
    files = {name: query.get(name, "") for name in TLS_FILE_PARAMETERS}
    for name, path in files.items():
        if path and not os.path.isabs(path):
            raise _invalid("dsn_tls_file", name=name)
    if files["ssl_keyfile"] and not files["ssl_certfile"]:
        raise _invalid("dsn_keyfile_alone")
    return files


def _credential(raw, what):
    value = unquote(raw or "")
    if not value.isascii():
        raise _invalid("dsn_credentials_non_ascii", what=what)
    if not value.isprintable():
        raise _invalid("dsn_credentials_control", what=what)
    return value


def _default_from_email(parts, query):
    sender = query.get("_default_from_email", "")
    if sender:
        try:
            validate_sender(sender)
        except ValidationError:
            raise _invalid(
                "dsn_default_from_email", value=_shown(parts, sender)
            ) from None
    return sender


def _routing(query):
    """Return the ``_sender_domains`` and ``_backups`` keyword arguments."""
    try:
        domains = parse_domains(query.get("_sender_domains", ""))
    except ValidationError as exc:
        raise _invalid("dsn_sender_domains", value=exc.params["domain"]) from None
    try:
        backups = parse_keys(query.get("_backups", ""))
    except ValidationError as exc:
        raise _invalid("dsn_backups", value=exc.params["key"]) from None
    return {"sender_domains": domains, "backups": backups}


def _smtp_transport(parts, query, port):
    host = _host(parts)
    use_ssl = _flag(query, "ssl")
    use_tls = _flag(query, "tls") or (parts.scheme == "submission" and not use_ssl)
    if use_ssl and "tls" in query:
        raise _invalid("dsn_ssl_and_tls")
    if port is None:
        port = 465 if use_ssl else 587 if parts.scheme == "submission" else 25
    return Transport(
        scheme=parts.scheme,
        host=host,
        port=port,
        username=_credential(parts.username, "user name"),
        password=_credential(parts.password, "password"),
        use_tls=use_tls,
        use_ssl=use_ssl,
        timeout=_timeout(parts, query),
        **_tls_files(query),
        default_from_email=_default_from_email(parts, query),
        **_routing(query),
    )


def _local_transport(parts, query):
    if parts.netloc:
        raise _invalid("dsn_local_netloc", scheme=parts.scheme)
    if given := sorted(SMTP_ONLY_PARAMETERS.intersection(query)):
        raise _invalid(
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
    if not isinstance(dsn, str) or not dsn:
        raise _invalid("dsn_empty")
    _check_characters(dsn)
    try:
        parts = urlsplit(dsn)
    except ValueError:
        # The message may quote the netloc, password included.
        raise _invalid("dsn_not_a_url") from None
    if not dsn.startswith(f"{parts.scheme}://"):
        # Without "://", the "scheme" may be a user name or a password.
        raise _invalid("dsn_no_scheme")
    if parts.scheme not in SCHEMES:
        raise _invalid(
            "dsn_scheme",
            scheme=parts.scheme,
            known=", ".join(sorted(SCHEMES)),
        )
    if _credentials_broke_the_url(parts):
        raise _invalid("dsn_unquoted_credentials")
    if parts.path not in ("", "/") or parts.fragment:
        raise _invalid("dsn_trailing_text")
    # The port before the query: a password cut short by "?" fails here.
    port = _port(parts) if parts.scheme in SMTP_SCHEMES else None
    query = _query(parts)
    if parts.scheme in SMTP_SCHEMES:
        return _smtp_transport(parts, query, port)
    return _local_transport(parts, query)


def check_relay_allowed(transport):
    """
    Raise ``ValidationError`` if a stored host may not send through
    ``transport``'s relay (``EMAIL_HOSTS_ALLOWED_RELAYS``).
    """
    if transport.is_smtp and not relays.is_allowed(transport.host):
        raise _invalid("dsn_relay_not_allowed", host=transport.host)


@sensitive_variables()
def validate_dsn(dsn):
    """
    Validator for the stored DSN: raise if :func:`parse_dsn` would, or if the
    relay is not allowed for stored hosts.
    """
    check_relay_allowed(parse_dsn(dsn))


@sensitive_variables()
def format_dsn(transport):
    """Return the DSN for ``transport``; :func:`parse_dsn` reads it back."""
    query = []
    if transport.use_ssl:
        query.append("ssl")
    elif transport.use_tls and transport.scheme != "submission":
        query.append("tls")
    if transport.timeout:
        query.append(f"timeout={transport.timeout}")
    query += [
        f"{name}={quote(path)}"
        for name in TLS_FILE_PARAMETERS
        if (path := getattr(transport, name))
    ]
    if transport.default_from_email:
        query.append(
            f"_default_from_email={quote(transport.default_from_email, safe='')}"
        )
    if transport.sender_domains:
        query.append(f"_sender_domains={','.join(transport.sender_domains)}")
    if transport.backups:
        query.append(f"_backups={','.join(transport.backups)}")
    netloc = ""
    if transport.is_smtp:
        userinfo = quote(transport.username, safe="")
        if transport.password:
            userinfo += ":" + quote(transport.password, safe="")
        host = f"[{transport.host}]" if ":" in transport.host else transport.host
        netloc = f"{userinfo}@{host}" if userinfo else host
        netloc += f":{transport.port}" if transport.port else ""
    return f"{transport.scheme}://{netloc}" + (f"?{'&'.join(query)}" if query else "")
