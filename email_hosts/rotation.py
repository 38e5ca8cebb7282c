"""
Re-encrypt every encrypted column of every model of the app with the current
first key after a key rotation: hosts, their connected accounts' tokens,
outbox messages, and whatever encrypted field a model gains later.
"""

import dataclasses

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import connections, models, router
from django.db.models import ExpressionWrapper, F
from django.views.decorators.debug import sensitive_variables

from email_hosts.encryption import fernet
from email_hosts.fields import ENCRYPTED_FIELD_CLASSES, EncryptedMessageField


#: Rows read and written at a time: no transaction holds a table for long,
#: so workers keep delivering while a rotation runs.
BATCH_SIZE = 500
#: Rows read at a time of a model that stores messages, up to a part (a
#: MiB) a row: about 70 MB of them, not 700.
MESSAGE_BATCH_SIZE = 50


@dataclasses.dataclass
class ModelRotation:
    """What a rotation did with the rows of one model."""

    model: type
    reencrypted: int = 0
    current: int = 0
    #: The rows no key decrypts, by key (hosts) or primary key.
    undecryptable: list = dataclasses.field(default_factory=list)


def encrypted_fields(model):
    """Return ``model``'s encrypted fields."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, ENCRYPTED_FIELD_CLASSES)
    ]


def rotate_keys(*, dry_run=False):
    """
    Re-encrypt, with the first key, each value of each encrypted field that
    the first key cannot decrypt yet but another key can, and return a
    :class:`ModelRotation` per model. A row that holds a value no key
    decrypts is left untouched. Each value is written only if it is still
    the one read, so a row a worker changed meanwhile (it wrote with the
    first key already) is never overwritten. With ``dry_run``, only report.
    """
    primary, every_key = fernet(primary_only=True), fernet()
    return [
        _rotate_model(model, fields, primary, every_key, dry_run=dry_run)
        for model in apps.get_app_config("email_hosts").get_models()
        if (fields := encrypted_fields(model))
    ]


def _label_of(model):
    """Return the field that names a row in a report: its key, its host's, or pk."""
    names = {field.name for field in model._meta.concrete_fields}
    return "key" if "key" in names else "host__key" if "host" in names else "pk"


def _rotate_model(model, fields, primary, every_key, *, dry_run):
    using = router.db_for_write(model)
    rotation = ModelRotation(model)
    raw = {
        f"raw_{field.name}": ExpressionWrapper(
            F(field.name), output_field=models.BinaryField()
        )
        for field in fields
    }
    rows = model.objects.using(using).annotate(**raw).order_by("pk")
    size = (
        MESSAGE_BATCH_SIZE
        if any(isinstance(field, EncryptedMessageField) for field in fields)
        else BATCH_SIZE
    )
    last_pk = None
    while batch := list(
        (rows if last_pk is None else rows.filter(pk__gt=last_pk)).values_list(
            "pk", _label_of(model), *raw
        )[:size]
    ):
        for pk, label, *stored in batch:
            rewrites = _rewrites(primary, every_key, stored)
            if rewrites is None:
                rotation.undecryptable.append(label)
            elif not rewrites:
                rotation.current += 1
            else:
                rotation.reencrypted += 1
                if not dry_run:
                    _write(model, using, pk, fields, rewrites)
        last_pk = batch[-1][0]
    return rotation


@sensitive_variables()
def _rewrites(primary, every_key, stored):
    """
    Return {column index: (old ciphertext, new ciphertext)} for a row's
    values the first key cannot decrypt, or None if no key decrypts one.
    """
    rewrites = {}
    for index, value in enumerate(stored):
        if value is None:
            continue
        ciphertext = bytes(value)
        try:
            primary.decrypt(ciphertext)
            continue
        except InvalidToken:
            pass
        try:
            rewrites[index] = (
                ciphertext,
                primary.encrypt(every_key.decrypt(ciphertext)),
            )
        except InvalidToken:
            return None
    return rewrites


def _write(model, using, pk, fields, rewrites):
    connection = connections[using]
    quote = connection.ops.quote_name
    table, pk_column = quote(model._meta.db_table), quote(model._meta.pk.column)
    binary = connection.Database.Binary
    with connection.cursor() as cursor:
        for index, (old, new) in rewrites.items():
            column = quote(fields[index].column)
            cursor.execute(
                f"UPDATE {table} SET {column} = %s"
                f" WHERE {pk_column} = %s AND {column} = %s",
                [binary(new), pk, binary(old)],
            )
