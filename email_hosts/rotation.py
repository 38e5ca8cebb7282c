"""Re-encrypt stored hosts with the current first key, after a key rotation."""

import dataclasses

from cryptography.fernet import InvalidToken
from django.db import models, transaction
from django.db.models import ExpressionWrapper, F

from email_hosts.fields import fernet
from email_hosts.models import EmailHost


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


def rotate_keys(*, dry_run=False):
    """
    Re-encrypt every host that the first key cannot decrypt yet but another
    key can, in one transaction. Leave hosts that no key decrypts untouched.
    With ``dry_run``, only report what would happen.
    """
    primary, every_key = fernet(primary_only=True), fernet()
    rotation = Rotation()
    with transaction.atomic():
        rows = (
            EmailHost.objects.select_for_update()
            .order_by("key")
            .values_list(
                "pk",
                "key",
                # The raw column, so that the field does not decrypt it.
                ExpressionWrapper(F("dsn"), output_field=models.BinaryField()),
            )
        )
        for pk, key, stored in rows:
            ciphertext = bytes(stored)
            if _decrypts(primary, ciphertext):
                rotation.current.append(key)
                continue
            try:
                plaintext = every_key.decrypt(ciphertext).decode()
            except InvalidToken:
                rotation.undecryptable.append(key)
                continue
            rotation.reencrypted.append(key)
            if not dry_run:
                # The field encrypts with the first key.
                EmailHost.objects.filter(pk=pk).update(dsn=plaintext)
    return rotation
