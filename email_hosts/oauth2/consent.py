"""
Connecting an account to a host with consent: the authorization code
flow with PKCE (RFC 7636). :func:`begin` gives the provider's consent page
to send the administrator to; :func:`finish` trades the code the provider
sends back for tokens and keeps them in the host's ``ConnectedAccount``.
"""

import dataclasses
import secrets

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from email_hosts import hosts
from email_hosts.exceptions import OAuth2TokenError
from email_hosts.models import ConnectedAccount
from email_hosts.oauth2 import accounts, client, tokens
from email_hosts.oauth2.binding import Destination


#: Seconds to wait for the token endpoint, for a host without a timeout.
EXCHANGE_TIMEOUT = 30


@dataclasses.dataclass(frozen=True)
class Pending:
    """A consent asked for: what the answer must match, kept in the session."""

    url: str
    state: str
    redirect_uri: str
    verifier: str = dataclasses.field(repr=False)


@sensitive_variables()
def begin(key, oauth2, *, client_secret, redirect_uri):
    """Return the :class:`Pending` consent for the host ``key``'s account."""
    verifier = secrets.token_urlsafe(64)
    with client.session(
        key,
        oauth2,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    ) as session:
        url, state = session.create_authorization_url(
            oauth2.authorize_url,
            code_verifier=verifier,
            **dict(oauth2.spec.authorize_params),
        )
    return Pending(url=url, state=state, redirect_uri=redirect_uri, verifier=verifier)


@sensitive_variables()
def finish(row, *, code, pending, user):
    """
    Trade ``code``, the answer to ``pending``, for tokens and keep them as
    the stored host ``row``'s connected account, replacing any before;
    return the account. Raise ``OAuth2TokenError`` if the provider refuses,
    or gives no refresh token.
    """
    transport = hosts.from_row(row).transport
    oauth2 = transport.oauth2
    answer = client.ask(
        row.key,
        oauth2,
        client_secret=transport.password,
        timeout=transport.timeout or EXCHANGE_TIMEOUT,
        secrets=(code, pending.verifier),
        grant_type="authorization_code",
        code=code,
        code_verifier=pending.verifier,
        redirect_uri=pending.redirect_uri,
    )
    if not answer.refresh_token:
        raise OAuth2TokenError(
            key=row.key,
            reason=f"{oauth2.token_host} gave no refresh token, so the account"
            f" would stop working within the hour. Ask for offline access: on"
            f" Microsoft, the offline_access scope; on another server, allow"
            f" the refresh_token grant for the app.",
        )
    account, _ = ConnectedAccount.objects.update_or_create(
        host=row,
        defaults={
            "destination": Destination.of(transport).digest(),
            "refresh_token": answer.refresh_token,
            "connected_by": user.get_username(),
            "connected_at": timezone.now(),
        },
    )
    accounts.store(account, answer)
    tokens.forget_host(row.key)
    return account
