"""
The parts of a validated DSN, as one value that never shows its password,
and the DSN that describes them.
"""

import dataclasses
from urllib.parse import quote

from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables


SMTP_SCHEMES = {"smtp", "submission"}
#: Files for TLS: a CA bundle to trust for this relay alone, and a client
#: certificate with its key (speckenv's names for the latter two).
TLS_FILE_PARAMETERS = ("ssl_cafile", "ssl_certfile", "ssl_keyfile")


@dataclasses.dataclass(frozen=True, slots=True)
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
    #: An :class:`~email_hosts.dsn.oauth2.OAuth2` login instead of a
    #: password one: the password is then the client secret.
    oauth2: object = None

    @property
    def is_smtp(self):
        return self.scheme in SMTP_SCHEMES

    @property
    def security(self):
        """Return ``"ssl"`` (implicit TLS), ``"starttls"`` or ``"none"``."""
        return security_name(use_tls=self.use_tls, use_ssl=self.use_ssl)

    def summary(self):
        """
        Return the transport without its password, such as
        ``submission://user@smtp.example.com:587 (STARTTLS)``.
        """
        if not self.is_smtp:
            return f"{self.scheme}://"
        user = f"{self.username}@" if self.username else ""
        security = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": _("no TLS")}
        host = f"[{self.host}]" if ":" in self.host else self.host
        login = f", {self.oauth2.summary()}" if self.oauth2 else ""
        return (
            f"{self.scheme}://{user}{host}:{self.port}"
            f" ({security[self.security]}{login})"
        )

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
        } | {
            name: value
            for name in ("ssl_cafile", "oauth2")
            if (value := getattr(self, name))
        }


def security_name(*, use_tls, use_ssl):
    """Return ``"ssl"`` (implicit TLS), ``"starttls"`` or ``"none"``."""
    return "ssl" if use_ssl else "starttls" if use_tls else "none"


@sensitive_variables()
def format_dsn(transport):
    """Return the DSN for ``transport``; :func:`~email_hosts.dsn.parse_dsn` reads it back."""
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
    if transport.oauth2:
        query += [
            f"{name}={quote(value, safe='')}"
            for name, value in transport.oauth2.query()
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
