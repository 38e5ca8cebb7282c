"""
The encrypted fields: DSNs and secrets, and outbox messages.

It wraps django-fernet-fields-v2 so that migrations reference
``email_hosts.fields`` only, and adds what the project needs on top:

* the keys are read from the settings again after every settings change
  (``override_settings``), not only at startup;
* without ``FERNET_KEYS``, ``SECRET_KEY_FALLBACKS`` decrypt too, so a
  ``SECRET_KEY`` rotation done Django's way keeps every host readable;
* a value that no key decrypts loads as :class:`UndecryptableValue` instead
  of raising, so the admin still opens, and saving it writes the original
  ciphertext back unchanged.
"""

import binascii
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.encoding import force_bytes
from django.views.decorators.debug import sensitive_variables
from fernet_fields import EncryptedTextField
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


class EncryptedDSNField(EncryptedTextField):
    """A text field stored Fernet-encrypted, keyed by the current settings."""

    @property
    @sensitive_variables()
    def keys(self):
        return encryption_keys()

    @property
    @sensitive_variables()
    def fernet(self):
        return fernet()

    def from_db_value(self, value, expression, connection, *args):
        return None if value is None else decrypt(value)

    @sensitive_variables()
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


class EncryptedSecretField(EncryptedDSNField):
    """A token or other secret, stored encrypted with the DSNs' keys."""


class EncryptedMessageField(models.BinaryField):
    """
    A message as sent (MIME bytes), stored Fernet-encrypted with the DSNs'
    keys: outbox messages carry password-reset links. Loads as bytes, or as
    :class:`UndecryptableValue`. Not memoized, unlike DSNs: each message is
    read once, and a cache would hold mail in memory.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection, *args):
        if value is None:
            return None
        try:
            return fernet().decrypt(bytes(value))
        except InvalidToken:
            return UndecryptableValue(bytes(value))

    @sensitive_variables()
    def get_db_prep_value(self, value, connection, prepared=False):  # noqa: FBT002 -- Django's signature
        if isinstance(value, UndecryptableValue):
            value = value.ciphertext
        elif value is not None:
            value = fernet().encrypt(bytes(value))
        return super().get_db_prep_value(value, connection, prepared=prepared)
