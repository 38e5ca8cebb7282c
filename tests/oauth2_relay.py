"""
A real OAuth2 server, django-oauth-toolkit behind the live server, and an
SMTP relay that takes its access tokens by AUTH XOAUTH2 and OAUTHBEARER,
checking each one at the server's introspection endpoint (RFC 7662).
"""

import asyncio
import base64
import binascii
import dataclasses
import json
import urllib.request
from urllib.parse import quote, urlencode, urlsplit

from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import RecordingHandler


MAILBOX = "mailbox@example.com"
#: Distinctive, so that a leak shows in any page, log or error.
CLIENT_SECRET = "oauth-client-secret-7Qx9"
_RELAY_SECRET = "relay-introspection-secret"


#: Where the admin takes consent back, by the test client and the browser.
CONNECTED_PATH = "/admin/email_hosts/emailhost/connected/"


@dataclasses.dataclass
class OAuth2Server:
    """
    django-oauth-toolkit serving a mailer app (client credentials), a
    delegated app (authorization code with PKCE, rotating refresh tokens)
    and the relay's own app.
    """

    url: str
    application: object
    delegated_application: object = None

    @property
    def token_url(self):
        return f"{self.url}/o/token/"

    @property
    def client_id(self):
        return self.application.client_id

    def tokens_issued(self):
        """Return how many access tokens the mailer app holds."""
        return self.application.accesstoken_set.count()

    def revoke_tokens(self):
        """Revoke every token of the mailer app before it expires."""
        self.application.accesstoken_set.all().delete()

    def refresh_tokens(self):
        """Return the delegated app's refresh tokens not yet revoked."""
        return self.delegated_application.refreshtoken_set.filter(revoked=None)

    def delegated_dsn(self, relay):
        query = {
            "timeout": 5,
            "oauth2": "authorization_code",
            "authorize_url": f"{self.url}/o/authorize/",
            "token_url": self.token_url,
            "client_id": self.delegated_application.client_id,
            "scope": "smtp",
        }
        return (
            f"submission://{quote(MAILBOX, safe='')}:{quote(CLIENT_SECRET, safe='')}"
            f"@127.0.0.1:{relay.port}?{urlencode(query)}"
        )

    def dsn(self, relay, *, mechanism="xoauth2", secret=CLIENT_SECRET):
        query = {
            "timeout": 5,
            "oauth2": "client_credentials",
            "token_url": self.token_url,
            "client_id": self.client_id,
            "scope": "smtp",
        }
        if mechanism != "xoauth2":
            query["sasl"] = mechanism
        return (
            f"submission://{quote(MAILBOX, safe='')}:{quote(secret, safe='')}"
            f"@127.0.0.1:{relay.port}?{urlencode(query)}"
        )


def start_oauth2_server(live_server):
    from oauth2_provider.models import Application  # noqa: PLC0415 -- apps not ready at import

    def confidential(name, secret):
        return Application.objects.create(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
        )

    relay_app = confidential("relay", _RELAY_SECRET)
    delegated = Application.objects.create(
        name="delegated mailer",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret=CLIENT_SECRET,
        redirect_uris=f"http://testserver{CONNECTED_PATH} {live_server.url}{CONNECTED_PATH}",
        algorithm="",
    )
    OAuth2RelayHandler.introspection = (
        f"{live_server.url}/o/introspect/",
        relay_app.client_id,
    )
    return OAuth2Server(
        url=live_server.url,
        application=confidential("mailer", CLIENT_SECRET),
        delegated_application=delegated,
    )


class OAuth2RelayHandler(RecordingHandler):
    """
    A relay that logs clients in with OAuth2 bearer tokens. A token the
    server does not know gets an error challenge and then 535, as Google's
    relay does.
    """

    #: (introspection URL, the relay's client ID), set by start_oauth2_server.
    introspection = None

    def __init__(self, **behaviour):
        super().__init__(**behaviour)
        #: (mechanism, user, accepted) for each AUTH attempt.
        self.logins = []

    async def auth_XOAUTH2(self, server, args):  # noqa: N802 -- aiosmtpd's naming
        blob = await _client_response(server, args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        fields = dict(part.split("=", 1) for part in blob.split("\x01") if "=" in part)
        return await self._check(server, "XOAUTH2", fields.get("user"), fields)

    async def auth_OAUTHBEARER(self, server, args):  # noqa: N802
        blob = await _client_response(server, args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        header, *pairs = blob.split("\x01")
        authzid = header.split(",")[1].removeprefix("a=")
        user = authzid.replace("=2C", ",").replace("=3D", "=")
        fields = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        return await self._check(server, "OAUTHBEARER", user, fields)

    async def _check(self, server, mechanism, user, fields):
        token = fields.get("auth", "").removeprefix("Bearer ")
        loop = asyncio.get_running_loop()
        active = await loop.run_in_executor(None, _introspect, token)
        self.logins.append((mechanism, user, active))
        if active:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        error = json.dumps({"status": "401", "schemes": "bearer"})
        await server.challenge_auth(error)
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Invalid credentials"
        )


async def _client_response(server, args):
    if len(args) == 2:
        try:
            return base64.b64decode(args[1], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            await server.push("501 5.5.2 Can't decode base64")
            return None
    answer = await server.challenge_auth("")
    return answer.decode() if isinstance(answer, bytes) else None


def _introspect(token):
    url, client_id = OAuth2RelayHandler.introspection
    request = urllib.request.Request(
        url,
        data=urlencode({"token": token}).encode(),
        headers={
            "Authorization": "Basic "
            + base64.b64encode(f"{client_id}:{_RELAY_SECRET}".encode()).decode()
        },
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer).get("active", False)


def give_consent(client, host, *, allow=True):
    """
    Click Connect account on ``host``'s change page as ``client``, answer the
    OAuth2 server's consent page, and follow it back to the admin. Return
    the admin's last page.
    """
    from django.urls import reverse  # noqa: PLC0415 -- settings not ready at import

    answer = client.post(
        reverse("admin:email_hosts_emailhost_connect_account", args=[host.pk])
    )
    consent_page = urlsplit(answer["Location"])
    page = client.get(f"{consent_page.path}?{consent_page.query}")
    fields = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    if allow:
        fields["allow"] = "Authorize"
    back = urlsplit(client.post(consent_page.path, fields)["Location"])
    return client.get(f"{back.path}?{back.query}", follow=True)
