"""
The SMTP login of an OAuth2 host: AUTH XOAUTH2 (Microsoft, Google) or
OAUTHBEARER (RFC 7628) with an access token, retried once with a new token
if the relay refuses one that has not expired. The retry comes before
``MAIL FROM``, so it cannot send anything twice.
"""

import dataclasses
import smtplib
from collections.abc import Callable

from django.views.decorators.debug import sensitive_variables

from email_hosts.dsn.oauth2 import OAuth2
from email_hosts.oauth2 import client, tokens
from email_hosts.oauth2.binding import Destination


@sensitive_variables()
def xoauth2(user, token):
    """Return XOAUTH2's initial client response."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


@sensitive_variables()
def oauthbearer(user, token, *, host, port):
    """Return OAUTHBEARER's initial client response (RFC 7628, section 3.1)."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return (
        f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    )


#: What the client answers a relay's error challenge with: then the relay
#: sends its final failure reply.
_ERROR_ANSWERS = {"XOAUTH2": "", "OAUTHBEARER": "\x01"}


@dataclasses.dataclass(frozen=True)
class OAuth2Login:
    """
    Log a connection of the host ``key`` in to its relay with OAuth2, with
    a token issued for that ``destination`` alone. ``repr()`` leaves the
    client secret out.

    ``token_source`` is ``tokens.access_token`` (client credentials) or,
    for a connected account, ``accounts.access_token``: the caller passes
    it, so that this login knows nothing of where accounts are stored.
    """

    key: str
    oauth2: OAuth2
    destination: Destination
    timeout: float
    token_source: Callable = tokens.access_token

    def __post_init__(self):
        # Before the connection opens: without Authlib, the login would fail
        # only later, as a relay error that does not say what to install.
        client.require(self.key)

    @sensitive_variables()
    def __call__(self, connection, user):
        connection.ehlo_or_helo_if_needed()
        mechanism = self.oauth2.mechanism.upper()
        offered = connection.esmtp_features.get("auth", "").upper().split()
        if mechanism not in offered:
            raise smtplib.SMTPNotSupportedError(
                f"The relay does not offer AUTH {mechanism}"
                f" (it offers {', '.join(offered) or 'no AUTH'})."
            )
        token = self._token()
        try:
            return self._authenticate(connection, mechanism, user, token)
        except smtplib.SMTPAuthenticationError as exc:
            if exc.smtp_code != 535:
                raise
        # Refused before it expired: revoked, or the tenant's policy changed.
        token = self._token(rejected=token)
        return self._authenticate(connection, mechanism, user, token)

    @sensitive_variables()
    def _token(self, **options):
        return self.token_source(
            self.key,
            self.oauth2,
            destination=self.destination,
            timeout=self.timeout,
            **options,
        )

    @sensitive_variables()
    def _authenticate(self, connection, mechanism, user, token):
        if mechanism == "XOAUTH2":
            initial = xoauth2(user, token.value)
        else:
            initial = oauthbearer(
                user,
                token.value,
                host=self.destination.relay,
                port=self.destination.port,
            )

        def answer(challenge=None):
            return initial if challenge is None else _ERROR_ANSWERS[mechanism]

        return connection.auth(mechanism, answer, initial_response_ok=True)
