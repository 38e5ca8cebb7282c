"""
Re-encrypt stored hosts, and their connected accounts' tokens, with the
current first key after a key rotation.
"""

import dataclasses

from cryptography.fernet import InvalidToken
from django.db import models, transaction
from django.db.models import ExpressionWrapper, F

from email_hosts.encryption import fernet
from email_hosts.models import ConnectedAccount, EmailHost


@dataclasses.dataclass
class Rotation:
    """The keys of the hosts a rotation looked at, by what it did with them."""

    reencrypted: list = dataclasses.field(default_factory=list)
    current: list = dataclasses.field(default_factory=list)
    undecryptable: list = dataclasses.field(default_factory=list)


def _decrypts(a_fernet, ciphertext):
    try:
        a_fernet.decrypt(ciphertext)
    except InvalidToken:
        return False
    return True


#: The encrypted columns, by model: the host's DSN, its account's tokens.
ENCRYPTED = (
    (EmailHost, "key", ("dsn",)),
    (ConnectedAccount, "host__key", ("refresh_token", "access_token")),
)


def rotate_keys(*, dry_run=False):
    """
    Re-encrypt every host's DSN and connected account's tokens that the
    first key cannot decrypt yet but another key can, in one transaction.
    Leave rows that hold a value no key decrypts untouched. With
    ``dry_run``, only report what would happen.
    """
    primary, every_key = fernet(primary_only=True), fernet()
    state = {}
    with transaction.atomic():
        for model, key_field, fields in ENCRYPTED:
            rows = (
                model.objects.select_for_update()
                .order_by(key_field)
                .values_list(
                    "pk",
                    key_field,
                    # The raw columns, so that the fields do not decrypt them.
                    *[
                        ExpressionWrapper(F(name), output_field=models.BinaryField())
                        for name in fields
                    ],
                )
            )
            for pk, key, *stored in rows:
                outcome, plaintexts = _rotated(primary, every_key, fields, stored)
                state[key] = max(state.get(key, "current"), outcome, key=_RANK.index)
                if outcome == "reencrypted" and not dry_run:
                    # The fields encrypt with the first key.
                    model.objects.filter(pk=pk).update(**plaintexts)
    rotation = Rotation()
    for key in sorted(state):
        getattr(rotation, state[key]).append(key)
    return rotation


#: A host's outcome is its worst column's.
_RANK = ("current", "reencrypted", "undecryptable")


def _rotated(primary, every_key, fields, stored):
    """Return a row's outcome, and the plaintexts to write back if re-encrypted."""
    plaintexts = {}
    for name, value in zip(fields, stored, strict=True):
        if value is None:
            continue
        ciphertext = bytes(value)
        if _decrypts(primary, ciphertext):
            continue
        try:
            plaintexts[name] = every_key.decrypt(ciphertext).decode()
        except InvalidToken:
            return "undecryptable", {}
    return ("reencrypted" if plaintexts else "current"), plaintexts
