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
from email_hosts.encryption import current_fernet, fernet
from email_hosts.oauth2 import client


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

    def minutes_left(self):
        """Return the whole minutes left, never negative: to tell people."""
        return max(0, round(self.expires_in() / 60))

    def is_fresh(self):
        return self.expires_in() > min(RENEW_BEFORE, self.lifetime / 2)


_tokens = {}
_locks = {}
_locks_lock = threading.Lock()


@sensitive_variables()
def access_token(key, oauth2, *, destination, timeout, rejected=None):
    """
    Return a fresh :class:`AccessToken` for the host ``key``'s app (client
    credentials) and its ``destination``: this process's, else one another
    process left in the cache, else a new one. ``rejected`` is a token the
    relay refused before it expired: never returned again.
    """
    cache_key = process_key(key, oauth2, destination)

    @sensitive_variables()
    def new():
        token = _shared(cache_key)
        if token is not None and token.is_fresh() and token != rejected:
            return token
        token = fetch(
            key, oauth2, client_secret=destination.client_secret, timeout=timeout
        )
        _share(cache_key, token)
        return token

    return remembered(cache_key, rejected=rejected, new=new)


def remembered(cache_key, *, rejected, new):
    """
    Return this process's fresh token under ``cache_key``, unless it is
    ``rejected``; else the one ``new()`` returns, kept for next time. One
    thread per process at a time calls ``new()`` for the same key.
    """

    def usable(token):
        return token is not None and token.is_fresh() and token != rejected

    token = _tokens.get(cache_key)
    if usable(token):
        return token
    with _lock(cache_key):
        token = _tokens.get(cache_key)
        if not usable(token):
            token = new()
        _tokens[cache_key] = token
        return token


@sensitive_variables()
def held(key, oauth2, destination):
    """Return this process's token for the host, or None: to say how long it lasts."""
    return _tokens.get(process_key(key, oauth2, destination))


@sensitive_variables()
def shared(key, oauth2, destination):
    """Return the token another process left in the cache for the host, or None."""
    return _shared(process_key(key, oauth2, destination))


def forget_host(key):
    """Forget this process's tokens of the host ``key`` (a new account)."""
    for cache_key in [k for k in _tokens if k.endswith(f":{key}")]:
        _tokens.pop(cache_key, None)


def forget():
    """Forget this process's tokens (tests; the cache keeps its own)."""
    _tokens.clear()


@sensitive_variables()
def fetch(key, oauth2, *, client_secret, timeout):
    """Return a new token from the token endpoint (client credentials)."""
    answer = client.ask(
        key,
        oauth2,
        client_secret=client_secret,
        timeout=timeout,
        grant_type="client_credentials",
    )
    return AccessToken(
        value=answer.access_token,
        expires_at=answer.expires_at,
        lifetime=answer.lifetime,
    )


def _lock(cache_key):
    with _locks_lock:
        return _locks.setdefault(cache_key, threading.Lock())


@sensitive_variables()
def process_key(key, oauth2, destination):
    """Return the key of the host's tokens in this process and the cache."""
    # Keyed by the whole destination (relay, mailbox, app, client secret):
    # a token never follows a host to another relay, and a new secret never
    # reuses one. A connected account's tokens are its host's alone.
    material = f"{destination.digest()} {oauth2.scope}"
    digest = salted_hmac("email_hosts.oauth2", material, algorithm="sha256")
    owner = f":{key}" if oauth2.delegated else ""
    return f"email_hosts:oauth2:{digest.hexdigest()}{owner}"


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
