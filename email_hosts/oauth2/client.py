"""
Authlib's OAuth2 client, the one place that imports it: sessions for a
host's app, and the token endpoint's answers turned into this project's
errors (the host key, the provider's own error, what to do; no secret).
"""

import dataclasses
import time

from django.views.decorators.debug import sensitive_variables

from email_hosts.exceptions import OAuth2TokenError, OAuth2Unavailable
from email_hosts.oauth2 import hints


@dataclasses.dataclass(frozen=True)
class TokenAnswer:
    """What a token endpoint gave; ``repr()`` leaves the tokens out."""

    access_token: str = dataclasses.field(repr=False)
    lifetime: float
    asked_at: float
    #: A new refresh token when the provider rotates them, else None.
    refresh_token: str = dataclasses.field(default=None, repr=False)

    @property
    def expires_at(self):
        return self.asked_at + self.lifetime


def _import_authlib():
    import requests  # noqa: PLC0415 -- the oauth extra, which may be missing
    from authlib.integrations.base_client import OAuthError  # noqa: PLC0415
    from authlib.integrations.requests_client import OAuth2Session  # noqa: PLC0415

    return OAuth2Session, OAuthError, requests.RequestException


def installed():
    """Return whether the ``oauth`` extra (Authlib, over requests) is installed."""
    try:
        _import_authlib()
    except ImportError:
        return False
    return True


def require(key):
    """Raise ``OAuth2Unavailable`` for the host ``key`` unless the extra is installed."""
    _authlib(key)


def _authlib(key):
    try:
        return _import_authlib()
    except ImportError:
        raise OAuth2Unavailable(key) from None


@sensitive_variables()
def session(key, oauth2, *, client_secret, **options):
    """Return an Authlib ``OAuth2Session`` for the host's app."""
    session_class, _, _ = _authlib(key)
    return session_class(
        oauth2.client_id,
        client_secret,
        scope=oauth2.scope or None,
        token_endpoint_auth_method="client_secret_post",
        **options,
    )


@sensitive_variables()
def ask(key, oauth2, *, client_secret, timeout, secrets=(), **request):
    """
    Ask the token endpoint for a token with ``request`` (the grant and its
    parameters) and return a :class:`TokenAnswer`. Raise ``OAuth2TokenError``
    with the provider's error, ``secrets`` blanked out of its description.
    """
    _, oauth_error, request_error = _authlib(key)
    asked_at = time.time()
    try:
        with session(key, oauth2, client_secret=client_secret) as s:
            answer = s.fetch_token(oauth2.token_url, timeout=timeout, **request)
    except oauth_error as exc:
        description = exc.description or ""
        for secret in (client_secret, *secrets):
            if secret:
                description = description.replace(secret, "…")
        raise OAuth2TokenError(
            key=key,
            reason=hints.refused(
                oauth2, exc.error, description, grant=request.get("grant_type")
            ),
            error=exc.error,
        ) from None
    except (request_error, ValueError, KeyError) as exc:
        raise OAuth2TokenError(
            key=key, reason=hints.unreachable(oauth2, type(exc).__name__)
        ) from None
    if "access_token" not in answer:
        raise OAuth2TokenError(
            key=key, reason=hints.unreachable(oauth2, "no access_token in the answer")
        )
    return TokenAnswer(
        access_token=answer["access_token"],
        lifetime=float(answer.get("expires_in") or 3600),
        asked_at=asked_at,
        refresh_token=answer.get("refresh_token"),
    )
