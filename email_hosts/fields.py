"""
The encrypted DSN field.

It wraps django-fernet-fields-v2 so that migrations reference
``email_hosts.fields`` only, and adds what the project needs on top:

* the keys are read from the settings on every use, so ``override_settings``
  and a key rotation take effect without a restart;
* without ``FERNET_KEYS``, ``SECRET_KEY_FALLBACKS`` decrypt too, so a
  ``SECRET_KEY`` rotation done Django's way keeps every host readable;
* a value that no key decrypts loads as :class:`UndecryptableValue` instead
  of raising, so the admin still opens, and saving it writes the original
  ciphertext back unchanged.
"""

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.encoding import force_bytes, force_str
from fernet_fields import EncryptedTextField
from fernet_fields.hkdf import derive_fernet_key


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


def encryption_keys():
    """Return the keys in use, the one that encrypts first."""
    if (keys := getattr(settings, "FERNET_KEYS", None)) is not None:
        return tuple(keys)
    return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))


@functools.lru_cache(maxsize=8)
def _fernet(keys, *, use_hkdf):
    # Deriving a key costs a few hundred microseconds; do it once per key set.
    fernet_keys = [derive_fernet_key(key) if use_hkdf else key for key in keys]
    return MultiFernet([Fernet(key) for key in fernet_keys])


def decrypt(ciphertext):
    """
    Return the plaintext of ``ciphertext``, or :class:`UndecryptableValue` if
    no current key decrypts it. Memoized: a ciphertext never changes, and an
    edit writes a new one, so the cache cannot serve a stale value.
    """
    return _decrypt(
        encryption_keys(), getattr(settings, "FERNET_USE_HKDF", True), bytes(ciphertext)
    )


@functools.lru_cache(maxsize=4096)
def _decrypt(keys, use_hkdf, ciphertext):
    try:
        return force_str(_fernet(keys, use_hkdf=use_hkdf).decrypt(ciphertext))
    except InvalidToken:
        return UndecryptableValue(ciphertext)


def fernet(*, primary_only=False):
    """
    Return the ``MultiFernet`` for the current settings, or with
    ``primary_only`` one for the first key alone, the one that encrypts.
    """
    keys = encryption_keys()
    return _fernet(
        keys[:1] if primary_only else keys,
        use_hkdf=getattr(settings, "FERNET_USE_HKDF", True),
    )


class EncryptedDSNField(EncryptedTextField):
    """A text field stored Fernet-encrypted, keyed by the current settings."""

    @property
    def keys(self):
        return encryption_keys()

    @property
    def fernet(self):
        return fernet()

    def from_db_value(self, value, expression, connection, *args):
        return None if value is None else decrypt(value)

    def get_db_prep_save(self, value, connection):
        if isinstance(value, UndecryptableValue):
            return connection.Database.Binary(value.ciphertext)
        if value is None:
            return None
        return connection.Database.Binary(self.fernet.encrypt(force_bytes(value)))

    def to_python(self, value):
        if isinstance(value, UndecryptableValue):
            return value
        return super().to_python(value)

    def run_validators(self, value):
        # An undecryptable value is kept as it is, never validated as a DSN.
        if not isinstance(value, UndecryptableValue):
            super().run_validators(value)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        if isinstance(value, UndecryptableValue):
            # A fixture must never carry a placeholder in place of a DSN.
            raise ValueError(  # noqa: TRY004 -- a state, not a type, is wrong
                f"{obj!r}: the stored value cannot be decrypted with the current"
                f" keys, so it cannot be serialized. Add the old key to FERNET_KEYS"
                f" first."
            )
        return super().value_to_string(obj)
