"""
Access tokens for OAuth2 hosts: fetched with Authlib once, reused until
shortly before they expire, and shared with other processes through
Django's cache, encrypted like the DSNs.
"""

import dataclasses
import json
import logging
import threading
import time

from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.dummy import DummyCache
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.exceptions import OAuth2TokenError, OAuth2Unavailable
from email_hosts.fields import current_fernet, fernet
from email_hosts.oauth2 import hints


logger = logging.getLogger("email_hosts")

#: A token is renewed this many seconds before it expires, so that none
#: expires between being read and being sent; half its lifetime if shorter.
RENEW_BEFORE = 300


@dataclasses.dataclass(frozen=True)
class AccessToken:
    """An access token and when it expires; ``repr()`` leaves the token out."""

    value: str = dataclasses.field(repr=False)
    expires_at: float
    lifetime: float

    def expires_in(self):
        """Return the seconds left, which may be negative."""
        return self.expires_at - time.time()

    def is_fresh(self):
        return self.expires_in() > min(RENEW_BEFORE, self.lifetime / 2)


_tokens = {}
_locks = {}
_locks_lock = threading.Lock()


@sensitive_variables()
def access_token(key, oauth2, *, client_secret, timeout):
    """
    Return a fresh :class:`AccessToken` for the host ``key``: this process's,
    else one another process left in the cache, else a new one. At most one
    thread per process asks the token endpoint for the same client.
    """
    cache_key = _cache_key(oauth2, client_secret)
    token = _tokens.get(cache_key)
    if token is not None and token.is_fresh():
        return token
    with _lock(cache_key):
        token = _tokens.get(cache_key)
        if token is None or not token.is_fresh():
            token = _shared(cache_key)
        if token is None or not token.is_fresh():
            token = fetch(key, oauth2, client_secret=client_secret, timeout=timeout)
            _share(cache_key, token)
        _tokens[cache_key] = token
        return token


@sensitive_variables()
def renew(key, oauth2, *, client_secret, timeout, rejected):
    """
    Return a new token in place of ``rejected``, which the relay refused
    before it expired (revoked, or the tenant's policy changed).
    """
    cache_key = _cache_key(oauth2, client_secret)
    with _lock(cache_key):
        if _tokens.get(cache_key) == rejected:
            del _tokens[cache_key]
        if _shared(cache_key) == rejected:
            _unshare(cache_key)
    return access_token(key, oauth2, client_secret=client_secret, timeout=timeout)


@sensitive_variables()
def held(oauth2, *, client_secret):
    """Return this process's token for the app, or None: to say how long it lasts."""
    return _tokens.get(_cache_key(oauth2, client_secret))


def forget():
    """Forget this process's tokens (tests; the cache keeps its own)."""
    _tokens.clear()


@sensitive_variables()
def fetch(key, oauth2, *, client_secret, timeout):
    """Return a new token from the token endpoint (client credentials)."""
    try:
        import requests  # noqa: PLC0415 -- an optional dependency
        from authlib.integrations.base_client import OAuthError  # noqa: PLC0415
        from authlib.integrations.requests_client import OAuth2Session  # noqa: PLC0415
    except ImportError:
        raise OAuth2Unavailable(key) from None
    session = OAuth2Session(
        oauth2.client_id,
        client_secret,
        scope=oauth2.scope or None,
        token_endpoint_auth_method="client_secret_post",
    )
    asked_at = time.time()
    try:
        with session:
            answer = session.fetch_token(
                oauth2.token_url, grant_type="client_credentials", timeout=timeout
            )
    except OAuthError as exc:
        description = (exc.description or "").replace(client_secret, "…")
        raise OAuth2TokenError(
            key=key, reason=hints.refused(oauth2, exc.error, description)
        ) from None
    except (requests.RequestException, ValueError) as exc:
        raise OAuth2TokenError(
            key=key, reason=hints.unreachable(oauth2, type(exc).__name__)
        ) from None
    lifetime = float(answer.get("expires_in") or 3600)
    return AccessToken(
        value=answer["access_token"], expires_at=asked_at + lifetime, lifetime=lifetime
    )


def _lock(cache_key):
    with _locks_lock:
        return _locks.setdefault(cache_key, threading.Lock())


@sensitive_variables()
def _cache_key(oauth2, client_secret):
    # Keyed by the secret too: a rotated secret must not reuse a token.
    material = f"{oauth2.token_url} {oauth2.client_id} {oauth2.scope} {client_secret}"
    digest = salted_hmac("email_hosts.oauth2", material, algorithm="sha256")
    return "email_hosts:oauth2:" + digest.hexdigest()


def _cache():
    alias = conf.token_cache()
    if alias is None:
        return None
    try:
        cache = caches[alias]
    except InvalidCacheBackendError:
        return None
    return None if isinstance(cache, DummyCache) else cache


def _shared(cache_key):
    """Return the token another process left in the cache, or None."""
    if (cache := _cache()) is None:
        return None
    try:
        encrypted = cache.get(cache_key)
        if encrypted is None:
            return None
        fields = json.loads(current_fernet().decrypt(encrypted))
        return AccessToken(**fields)
    except Exception:  # noqa: BLE001 -- a cache that fails costs a token request
        logger.warning(
            "The cache %r failed to give an OAuth2 token.", conf.token_cache()
        )
        return None


def _share(cache_key, token):
    if (cache := _cache()) is None:
        return
    encrypted = fernet(primary_only=True).encrypt(
        json.dumps(dataclasses.asdict(token)).encode()
    )
    try:
        cache.set(cache_key, encrypted, timeout=max(1, int(token.expires_in())))
    except Exception:  # noqa: BLE001 -- the token works without the cache
        logger.warning(
            "The cache %r failed to keep an OAuth2 token.", conf.token_cache()
        )


def _unshare(cache_key):
    if (cache := _cache()) is None:
        return
    try:
        cache.delete(cache_key)
    except Exception:  # noqa: BLE001
        logger.warning(
            "The cache %r failed to drop an OAuth2 token.", conf.token_cache()
        )
