"""
The SMTP login of an OAuth2 host: AUTH XOAUTH2 (Microsoft, Google) or
OAUTHBEARER (RFC 7628) with an access token, retried once with a new token
if the relay refuses one that has not expired. The retry comes before
``MAIL FROM``, so it cannot send anything twice.
"""

import dataclasses
import smtplib

from django.views.decorators.debug import sensitive_variables

from email_hosts.oauth2 import tokens
from email_hosts.oauth2.binding import Destination
from email_hosts.oauth2.config import OAuth2


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
    """

    key: str
    oauth2: OAuth2
    destination: Destination
    timeout: float

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
        if self.oauth2.delegated:
            # Connected accounts live in a model: not loaded at import time.
            from email_hosts.oauth2 import accounts  # noqa: PLC0415

            source = accounts.access_token
        else:
            source = tokens.access_token
        return source(
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
