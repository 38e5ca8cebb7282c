"""
Where an OAuth2 host's tokens may go: the relay they log in to and the app
that got them. A token is used only for the destination it was issued for,
so that nobody who edits a host can have its mailbox's token sent to a
server of their own.
"""

import dataclasses
import hashlib
import json

from django.views.decorators.debug import sensitive_variables


@dataclasses.dataclass(frozen=True)
class Destination:
    """
    A token's destination: relay host, port and security, the mailbox, and
    the app's token endpoint, client ID and client secret. ``repr()``
    leaves the secret out.
    """

    relay: str
    port: int
    security: str
    mailbox: str
    token_url: str
    client_id: str
    client_secret: str = dataclasses.field(repr=False)

    @classmethod
    def of(cls, transport):
        """Return the destination of an OAuth2 host's transport."""
        return cls.of_connection(
            host=transport.host,
            port=transport.port,
            security=transport.security,
            username=transport.username,
            oauth2=transport.oauth2,
            client_secret=transport.password,
        )

    @classmethod
    def of_connection(  # noqa: PLR0913 -- a connection's parts, by name
        cls, *, host, port, security, username, oauth2, client_secret
    ):
        """Return the destination of a backend's connection and OAuth2 login."""
        return cls(
            relay=(host or "").lower().rstrip("."),
            port=port,
            security=security,
            mailbox=username,
            token_url=oauth2.token_url,
            client_id=oauth2.client_id,
            client_secret=client_secret,
        )

    @sensitive_variables()
    def digest(self):
        """
        Return a digest of the whole destination. It holds the client
        secret, so it is only ever stored encrypted.
        """
        parts = [getattr(self, field.name) for field in dataclasses.fields(self)]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
