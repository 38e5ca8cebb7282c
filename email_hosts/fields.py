"""
The encrypted fields: DSNs and secrets, and outbox messages and envelopes.

It wraps django-fernet-fields-v2 so that migrations reference
``email_hosts.fields`` only, and adds what the project needs on top:

* the keys come from :mod:`email_hosts.encryption`, read from the settings
  again after every settings change, with ``SECRET_KEY_FALLBACKS`` when
  ``FERNET_KEYS`` is unset;
* a value that no key decrypts loads as :class:`UndecryptableValue` instead
  of raising, so the admin still opens, and saving it writes the original
  ciphertext back unchanged.
"""

import functools
import json
import threading

from cryptography.fernet import InvalidToken
from django.db import models
from django.utils.encoding import force_bytes
from django.views.decorators.debug import sensitive_variables
from fernet_fields import EncryptedTextField as _FernetTextField

from email_hosts.encryption import (
    UndecryptableValue,
    current_fernet,
    decrypt,
    encryption_keys,
    fernet,
)


__all__ = [
    "EncryptedDSNField",
    "EncryptedJSONField",
    "EncryptedMessageField",
    "EncryptedSecretField",
    "EncryptedTextField",
    "UndecryptableValue",
]


def _refuse_undecryptable(obj, value):
    """
    Raise for a value no key decrypts: a fixture must never carry a
    placeholder in place of a DSN, a token or a message.
    """
    if isinstance(value, UndecryptableValue):
        raise ValueError(  # noqa: TRY004 -- a state, not a type, is wrong
            f"{obj!r}: the stored value cannot be decrypted with the current"
            f" keys, so it cannot be serialized. Add the old key to FERNET_KEYS"
            f" first."
        )


class EncryptedDSNField(_FernetTextField):
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
        _refuse_undecryptable(obj, self.value_from_object(obj))
        return super().value_to_string(obj)


class EncryptedSecretField(EncryptedDSNField):
    """A token or other secret, stored encrypted with the DSNs' keys."""


class _EncryptedBlobField(models.BinaryField):
    """
    A value stored Fernet-encrypted, with the DSNs' keys, in a binary column.
    Loads as the value, or as :class:`UndecryptableValue`. Not memoized,
    unlike DSNs: each outbox message is read once, and a cache would hold
    mail in memory. Subclasses turn the value into bytes and back.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    #: Whether a thread keeps the last value of this field it read (small
    #: envelope values only), so that a row that holds it twice is
    #: decrypted once. Never for a message.
    remember_last_read = False

    def to_bytes(self, value):
        raise NotImplementedError

    def from_bytes(self, data):
        raise NotImplementedError

    @sensitive_variables()
    def from_db_value(self, value, expression, connection, *args):
        if value is None:
            return None
        try:
            return self.from_bytes(
                _decrypt_blob(bytes(value), remember=self.remember_last_read)
            )
        except InvalidToken:
            return UndecryptableValue(bytes(value))

    @sensitive_variables()
    def get_db_prep_value(self, value, connection, prepared=False):  # noqa: FBT002 -- Django's signature
        if isinstance(value, UndecryptableValue):
            value = value.ciphertext
        elif value is not None:
            value = _encrypt(self.to_bytes(value))
        return super().get_db_prep_value(value, connection, prepared=prepared)


#: Values that say nothing (an empty text, list or mapping): each has one
#: ciphertext per key, reused, since a fresh one would tell no more. Most
#: outbox messages are queued with an empty last error and refusals.
_NOTHING = frozenset({b"", b"[]", b"{}"})


@sensitive_variables()
def _encrypt(data):
    a_fernet = current_fernet()
    if data in _NOTHING:
        return _ciphertext_of_nothing(a_fernet, data)
    return a_fernet.encrypt(data)


@functools.lru_cache(maxsize=16)
def _ciphertext_of_nothing(a_fernet, data):
    return a_fernet.encrypt(data)


#: The ciphertexts of nothing that other processes wrote, as they were read:
#: each writer has its own, and a worker reads them on every message.
_NOTHING_READ = {}
_NOTHING_READ_MAX = 1024
#: The last value a thread decrypted: a message's pending recipients are
#: its recipients, one ciphertext, until it has been tried.
_last_read = threading.local()
_LAST_READ_MAX = 4096


@sensitive_variables()
def _decrypt_blob(ciphertext, *, remember):
    a_fernet = current_fernet()
    # Keyed by the keys too: what they no longer decrypt stays undecryptable.
    key = (a_fernet, ciphertext)
    if (data := _NOTHING_READ.get(key)) is not None:
        return data
    if getattr(_last_read, "key", None) == key:
        return _last_read.data
    data = a_fernet.decrypt(ciphertext)
    if data in _NOTHING:
        if len(_NOTHING_READ) >= _NOTHING_READ_MAX:
            _NOTHING_READ.clear()  # Keys changed, or writers came and went.
        _NOTHING_READ[key] = data
    elif remember and len(data) <= _LAST_READ_MAX:
        _last_read.key, _last_read.data = key, data
    return data


class EncryptedMessageField(_EncryptedBlobField):
    """
    A message as sent (MIME bytes), stored encrypted: outbox messages carry
    password-reset links.
    """

    def to_bytes(self, value):
        return bytes(value)

    def from_bytes(self, data):
        return data


class _SerializedAsText:
    """Fixtures write the value as text, not as base64 of the bytes."""

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        _refuse_undecryptable(obj, value)
        return self.to_text(value)

    def _check_str_default_value(self):
        return []  # A text default is right here, unlike for bytes.


class EncryptedTextField(_SerializedAsText, _EncryptedBlobField):
    """Text that holds personal data, such as an envelope sender, encrypted."""

    def to_bytes(self, value):
        return str(value).encode()

    def from_bytes(self, data):
        return data.decode()

    def to_text(self, value):
        return value

    def to_python(self, value):
        return value if isinstance(value, str | UndecryptableValue) else str(value)


class EncryptedJSONField(_SerializedAsText, _EncryptedBlobField):
    """A JSON value that holds personal data, such as recipients, encrypted."""

    remember_last_read = True  # Recipients, and pending recipients: the same.

    def to_bytes(self, value):
        return json.dumps(value).encode()

    def from_bytes(self, data):
        return json.loads(data)

    def to_text(self, value):
        return json.dumps(value)

    def to_python(self, value):
        return json.loads(value) if isinstance(value, str) else value


#: Every encrypted field class: what key rotation looks for in each model.
ENCRYPTED_FIELD_CLASSES = (EncryptedDSNField, _EncryptedBlobField)
