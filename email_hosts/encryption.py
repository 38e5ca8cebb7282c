"""
The Fernet keys that encrypt stored hosts, secrets and outbox messages, read
from the settings again after every settings change (``override_settings``);
without ``FERNET_KEYS``, ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``, so that
a ``SECRET_KEY`` rotation done Django's way keeps every host readable.
"""

import binascii
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables
from fernet_fields.hkdf import derive_fernet_key

from email_hosts import conf


class UndecryptableValue:
    """A stored value that none of the configured keys can decrypt."""

    def __init__(self, ciphertext):
        self.ciphertext = ciphertext

    def __repr__(self):
        return "<UndecryptableValue>"

    def __eq__(self, other):
        return (
            isinstance(other, UndecryptableValue)
            and other.ciphertext == self.ciphertext
        )

    def __hash__(self):
        return hash(self.ciphertext)


#: Shorter keys draw a deploy warning (email_hosts.W005).
MIN_KEY_LENGTH = 32


@conf.read_once
@sensitive_variables()
def encryption_keys():
    """
    Return the keys in use, the one that encrypts first. Raise
    ``ImproperlyConfigured`` unless ``FERNET_KEYS`` is unset or a non-empty
    list of non-empty keys: a plain string would otherwise encrypt with its
    first character alone.
    """
    if (keys := getattr(settings, "FERNET_KEYS", None)) is None:
        return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    if (
        not isinstance(keys, list | tuple)
        or not keys
        or not all(isinstance(key, str | bytes) and key for key in keys)
    ):
        raise ImproperlyConfigured(
            "FERNET_KEYS must be a non-empty list of non-empty strings, the key"
            " that encrypts first, such as [env('FERNET_KEY')]. Leave it unset"
            " to use SECRET_KEY and SECRET_KEY_FALLBACKS."
        )
    return tuple(keys)


@conf.read_once
def _use_hkdf():
    return getattr(settings, "FERNET_USE_HKDF", True)


@functools.lru_cache(maxsize=8)
@sensitive_variables()
def _fernet(keys, *, use_hkdf):
    # Deriving a key costs a few hundred microseconds; do it once per key set.
    if use_hkdf:
        return MultiFernet([Fernet(derive_fernet_key(key)) for key in keys])
    fernets = []
    for index, key in enumerate(keys):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError, binascii.Error):
            # From None: the original's frames hold the key.
            raise ImproperlyConfigured(
                f"FERNET_KEYS[{index}] is not a Fernet key, which FERNET_USE_HKDF"
                f" = False requires: 32 url-safe base64-encoded bytes, as made by"
                f" Fernet.generate_key(). Or remove FERNET_USE_HKDF."
            ) from None
    return MultiFernet(fernets)


@sensitive_variables()
def decrypt(ciphertext):
    """
    Return the plaintext of ``ciphertext``, or :class:`UndecryptableValue` if
    no current key decrypts it. Memoized: a ciphertext never changes, and an
    edit writes a new one, so the cache cannot serve a stale value.
    """
    return _decrypt(current_fernet(), bytes(ciphertext))


@sensitive_variables()
def decrypt_with(a_fernet, ciphertext):
    """
    Return the plaintext of ``ciphertext`` (bytes) under ``a_fernet``, or
    :class:`UndecryptableValue`. Not memoized itself: :func:`decrypt`
    memoizes it, and hosts memoize what they make of the plaintext.
    """
    try:
        return a_fernet.decrypt(ciphertext).decode()
    except InvalidToken:
        return UndecryptableValue(ciphertext)


#: decrypt_with(), memoized: a ciphertext never changes, and the Fernet of
#: other keys is another object.
_decrypt = functools.lru_cache(maxsize=4096)(decrypt_with)


@conf.read_once
@sensitive_variables()
def current_fernet():
    """
    Return the ``MultiFernet`` that decrypts with the current settings: the
    same object until they change, so it can key a cache.
    """
    return fernet()


@sensitive_variables()
def fernet(*, primary_only=False):
    """
    Return the ``MultiFernet`` for the current settings, or with
    ``primary_only`` one for the first key alone, the one that encrypts.
    """
    keys = encryption_keys()
    return _fernet(keys[:1] if primary_only else keys, use_hkdf=_use_hkdf())


@sensitive_variables()
def short_keys():
    """
    Return the positions in ``FERNET_KEYS`` of keys under 32 characters.
    Raise ``ImproperlyConfigured`` like :func:`encryption_keys`.
    """
    if getattr(settings, "FERNET_KEYS", None) is None:
        return []  # SECRET_KEY's length is Django's own check.
    return [
        index
        for index, key in enumerate(encryption_keys())
        if len(key) < MIN_KEY_LENGTH
    ]
