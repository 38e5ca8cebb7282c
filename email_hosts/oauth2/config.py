"""How a host logs in with OAuth2, read from its DSN's query and checked."""

import dataclasses
import ipaddress
import re
from urllib.parse import urlsplit

from email_hosts.dsn_errors import invalid


#: The DSN query parameters of OAuth2, in the order format_dsn() writes them.
PARAMETERS = ("oauth2", "tenant", "token_url", "client_id", "scope", "sasl")
#: oauth2=...: any OAuth2 server by its token URL, or Microsoft 365 by tenant.
FLOWS = ("client_credentials", "microsoft")
#: sasl=...: the SMTP AUTH mechanisms that carry a bearer token.
MECHANISMS = ("xoauth2", "oauthbearer")
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
#: The scope of Exchange Online's SMTP.SendAsApp application permission.
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
#: A tenant ID (a GUID) or one of the tenant's domain names.
_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_SCOPE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")


@dataclasses.dataclass(frozen=True)
class OAuth2:
    """
    An OAuth2 login with client credentials (app-only). The mailbox is the
    DSN's user name and the client secret its password, which this value
    never holds.
    """

    flow: str
    client_id: str
    token_url: str
    scope: str = ""
    tenant: str = ""
    mechanism: str = "xoauth2"

    def query(self):
        """Return the DSN query pairs that :func:`parse` reads back."""
        pairs = [("oauth2", self.flow)]
        if self.flow == "microsoft":
            pairs.append(("tenant", self.tenant))
        else:
            pairs.append(("token_url", self.token_url))
        pairs.append(("client_id", self.client_id))
        if self.flow != "microsoft" and self.scope:
            pairs.append(("scope", self.scope))
        if self.mechanism != "xoauth2":
            pairs.append(("sasl", self.mechanism))
        return pairs

    def summary(self):
        """Return how the host logs in, such as ``OAuth2 (Microsoft 365)``."""
        provider = "Microsoft 365" if self.flow == "microsoft" else self.token_host
        return f"OAuth2 {self.mechanism.upper()} ({provider})"

    @property
    def token_host(self):
        return urlsplit(self.token_url).hostname


def parse(query, *, username, password):
    """
    Return the :class:`OAuth2` login the ``query`` dict describes, or None for
    a password login; raise ``ValidationError`` naming what is wrong.
    """
    given = [name for name in PARAMETERS if name in query]
    flow = query.get("oauth2")
    if flow is None:
        if given:
            raise invalid("dsn_oauth2_without_flow", names=", ".join(given))
        return None
    if flow not in FLOWS:
        raise invalid("dsn_oauth2_flow", value=flow, known=", ".join(FLOWS))
    if not username or not password:
        raise invalid("dsn_oauth2_credentials")
    required, refused = (
        (("tenant", "client_id"), ("token_url", "scope"))
        if flow == "microsoft"
        else (("token_url", "client_id"), ("tenant",))
    )
    if missing := [name for name in required if not query.get(name)]:
        raise invalid("dsn_oauth2_missing", flow=flow, names=", ".join(missing))
    if extra := [name for name in refused if name in query]:
        raise invalid("dsn_oauth2_refused", flow=flow, names=", ".join(extra))
    mechanism = query.get("sasl", "xoauth2")
    if mechanism not in MECHANISMS:
        raise invalid("dsn_sasl", value=mechanism, known=", ".join(MECHANISMS))
    client_id = query["client_id"]
    if not _PRINTABLE.fullmatch(client_id):
        raise invalid("dsn_oauth2_client_id")
    scope = query.get("scope", "")
    if scope and not _SCOPE.fullmatch(scope):
        raise invalid("dsn_oauth2_scope")
    if flow == "microsoft":
        tenant = query["tenant"]
        if not _TENANT.fullmatch(tenant):
            raise invalid("dsn_oauth2_tenant", value=tenant)
        return OAuth2(
            flow=flow,
            client_id=client_id,
            token_url=MICROSOFT_TOKEN_URL.format(tenant=tenant),
            scope=MICROSOFT_SCOPE,
            tenant=tenant,
            mechanism=mechanism,
        )
    token_url = query["token_url"]
    check_token_url(token_url)
    return OAuth2(
        flow=flow,
        client_id=client_id,
        token_url=token_url,
        scope=scope,
        mechanism=mechanism,
    )


def check_token_url(url):
    """
    Raise ``ValidationError`` unless ``url`` is an https URL, or an http URL
    of this machine (a test server), without credentials of its own: the
    client secret travels to it.
    """
    try:
        parts = urlsplit(url)
        hostname, credentials = parts.hostname, parts.username or parts.password
    except ValueError:
        hostname = credentials = None
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and hostname and _is_loopback(hostname)
    )
    if not hostname or credentials or not secure:
        raise invalid("dsn_oauth2_token_url")


def _is_loopback(hostname):
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
