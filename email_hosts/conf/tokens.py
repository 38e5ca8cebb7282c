"""The setting that names the cache OAuth2 access tokens are shared through."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from email_hosts.conf.cache import read_once


@read_once
def token_cache():
    """
    Return ``EMAIL_HOSTS_TOKEN_CACHE``: the alias of the cache in ``CACHES``
    that shares OAuth2 access tokens between processes, or None for none.
    """
    alias = getattr(settings, "EMAIL_HOSTS_TOKEN_CACHE", "default")
    if alias is not None and not isinstance(alias, str):
        raise ImproperlyConfigured(
            f"EMAIL_HOSTS_TOKEN_CACHE must be the alias of a cache in CACHES,"
            f" such as 'default', or None, not {alias!r}."
        )
    return alias
