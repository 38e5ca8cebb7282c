"""How a host logs in with OAuth2, read from its DSN's query and checked."""

import dataclasses
import ipaddress
import re
from urllib.parse import urlsplit

from email_hosts.dsn import relays
from email_hosts.dsn.errors import invalid


#: The DSN query parameters of OAuth2, in the order format_dsn() writes them.
PARAMETERS = (
    "oauth2",
    "tenant",
    "authorize_url",
    "token_url",
    "client_id",
    "scope",
    "sasl",
)
#: sasl=...: the SMTP AUTH mechanisms that carry a bearer token.
MECHANISMS = ("xoauth2", "oauthbearer")
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
MICROSOFT_AUTHORIZE_URL = (
    "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"
)
#: The scope of Exchange Online's SMTP.SendAsApp application permission.
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
#: Exchange Online's delegated SMTP.Send, and a refresh token to keep it.
MICROSOFT_DELEGATED_SCOPE = "https://outlook.office.com/SMTP.Send offline_access"
GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
#: The one Gmail scope that SMTP accepts.
GOOGLE_SCOPE = "https://mail.google.com/"


@dataclasses.dataclass(frozen=True)
class Flow:
    """What an ``oauth2=...`` value needs, refuses and fills in itself."""

    required: tuple
    refused: tuple
    #: Filled in from the tenant: a provider's own endpoints and scope.
    token_url: str = ""
    authorize_url: str = ""
    scope: str = ""
    provider: str = ""
    #: An administrator connects an account with consent (authorization
    #: code and PKCE); otherwise the app logs in alone (client credentials).
    delegated: bool = False
    #: Added to the consent page's URL: Google issues a refresh token only
    #: with these, and again on every consent only with prompt=consent.
    authorize_params: tuple = ()


_PRESET = ("token_url", "authorize_url", "scope")
#: oauth2=...: any OAuth2 server by its URLs, or a provider by name.
FLOWS = {
    "client_credentials": Flow(
        required=("token_url", "client_id"), refused=("tenant", "authorize_url")
    ),
    "microsoft": Flow(
        required=("tenant", "client_id"),
        refused=_PRESET,
        token_url=MICROSOFT_TOKEN_URL,
        scope=MICROSOFT_SCOPE,
        provider="Microsoft 365",
    ),
    "authorization_code": Flow(
        required=("authorize_url", "token_url", "client_id"),
        refused=("tenant",),
        delegated=True,
    ),
    "microsoft_delegated": Flow(
        required=("tenant", "client_id"),
        refused=_PRESET,
        token_url=MICROSOFT_TOKEN_URL,
        authorize_url=MICROSOFT_AUTHORIZE_URL,
        scope=MICROSOFT_DELEGATED_SCOPE,
        provider="Microsoft 365",
        delegated=True,
    ),
    "google": Flow(
        required=("client_id",),
        refused=("tenant", *_PRESET),
        token_url=GOOGLE_TOKEN_URL,
        authorize_url=GOOGLE_AUTHORIZE_URL,
        scope=GOOGLE_SCOPE,
        provider="Google",
        delegated=True,
        authorize_params=(("access_type", "offline"), ("prompt", "consent")),
    ),
}
#: A tenant ID (a GUID) or one of the tenant's domain names.
_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_SCOPE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")


@dataclasses.dataclass(frozen=True)
class OAuth2:
    """
    An OAuth2 login: with client credentials (app-only), or delegated by an
    account an administrator connects. The mailbox is the DSN's user name
    and the client secret its password, which this value never holds.
    """

    flow: str
    client_id: str
    token_url: str
    scope: str = ""
    tenant: str = ""
    mechanism: str = "xoauth2"
    authorize_url: str = ""

    @property
    def spec(self):
        return FLOWS[self.flow]

    @property
    def delegated(self):
        return self.spec.delegated

    def query(self):
        """Return the DSN query pairs that :func:`parse` reads back."""
        pairs = [("oauth2", self.flow)]
        for name in PARAMETERS[1:-1]:
            value = getattr(self, name)
            if value and name not in self.spec.refused:
                pairs.append((name, value))
        if self.mechanism != "xoauth2":
            pairs.append(("sasl", self.mechanism))
        return pairs

    def summary(self):
        """Return how the host logs in, such as ``OAuth2 (Microsoft 365)``."""
        provider = self.spec.provider or self.token_host
        connected = ", connected account" if self.delegated else ""
        return f"OAuth2 {self.mechanism.upper()} ({provider}{connected})"

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
    spec = FLOWS[flow]
    if missing := [name for name in spec.required if not query.get(name)]:
        raise invalid("dsn_oauth2_missing", flow=flow, names=", ".join(missing))
    if extra := [name for name in spec.refused if name in query]:
        raise invalid("dsn_oauth2_refused", flow=flow, names=", ".join(extra))
    mechanism = query.get("sasl", "xoauth2")
    if mechanism not in MECHANISMS:
        raise invalid("dsn_sasl", value=mechanism, known=", ".join(MECHANISMS))
    client_id = query["client_id"]
    if not _PRINTABLE.fullmatch(client_id):
        raise invalid("dsn_oauth2_client_id")
    scope = query.get("scope", spec.scope)
    if scope and not _SCOPE.fullmatch(scope):
        raise invalid("dsn_oauth2_scope")
    tenant = query.get("tenant", "")
    if "tenant" in spec.required and not _TENANT.fullmatch(tenant):
        raise invalid("dsn_oauth2_tenant", value=tenant)
    token_url = query.get("token_url") or spec.token_url.format(tenant=tenant)
    authorize_url = query.get("authorize_url") or spec.authorize_url.format(
        tenant=tenant
    )
    check_url(token_url, "dsn_oauth2_token_url")
    if spec.delegated:
        check_url(authorize_url, "dsn_oauth2_authorize_url")
    return OAuth2(
        flow=flow,
        client_id=client_id,
        token_url=token_url,
        scope=scope,
        tenant=tenant,
        mechanism=mechanism,
        authorize_url=authorize_url,
    )


def check_url(url, code):
    """
    Raise the ``ValidationError`` ``code`` unless ``url`` is an https URL, or
    an http URL of this machine (a test server), of a host that sockets can
    reach and without credentials of its own: the client secret and the
    consent travel to it.
    """
    if not _PRINTABLE.fullmatch(url):
        raise invalid(code)
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        # An unclosed "[" of an IPv6 address, or a port out of range.
        raise invalid(code) from None
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and hostname and _is_loopback(hostname)
    )
    if (
        not hostname
        or not relays.is_valid_hostname(hostname)
        or parts.username is not None
        or parts.password is not None
        or not secure
    ):
        raise invalid(code)


def _is_loopback(hostname):
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
