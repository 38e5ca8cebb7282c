"""Cache each setting accessor until ``override_settings`` changes a setting."""

import functools

from django.core.signals import setting_changed


_readers = []


def read_once(reader):
    """
    Cache what ``reader`` returns: each send asks several settings, and a
    missing one costs Django an exception per read. ``override_settings``
    (the ``setting_changed`` signal) makes every reader read again; a value
    that raises is not cached, so it raises on every use.
    """
    cached = functools.cache(reader)
    _readers.append(cached)
    return cached


def _forget_settings(**kwargs):
    for reader in _readers:
        reader.cache_clear()


setting_changed.connect(_forget_settings, dispatch_uid="email_hosts.conf")
