# Written by hand: each envelope column is replaced by an encrypted one,
# which is portable across databases (no cast from JSON or text to binary).

import email_hosts.fields
from django.db import migrations, models


#: The old columns, and the encrypted fields that replace them.
ENVELOPE = {
    "from_email": (
        models.CharField(max_length=320, null=True, verbose_name="envelope sender"),
        email_hosts.fields.EncryptedTextField(verbose_name="envelope sender"),
    ),
    "recipients": (
        models.JSONField(null=True, verbose_name="recipients"),
        email_hosts.fields.EncryptedJSONField(verbose_name="recipients"),
    ),
    "pending_recipients": (
        models.JSONField(null=True, verbose_name="pending recipients"),
        email_hosts.fields.EncryptedJSONField(verbose_name="pending recipients"),
    ),
    "refused_recipients": (
        models.JSONField(default=dict, null=True, verbose_name="refused recipients"),
        email_hosts.fields.EncryptedJSONField(
            default=dict, verbose_name="refused recipients"
        ),
    ),
    "last_error": (
        models.CharField(blank=True, max_length=1000, null=True, verbose_name="last error"),
        email_hosts.fields.EncryptedTextField(
            blank=True, default="", verbose_name="last error"
        ),
    ),
}
#: What an undecryptable value becomes when the migration is unapplied.
PLACEHOLDERS = {
    "from_email": "",
    "recipients": [],
    "pending_recipients": [],
    "refused_recipients": {},
    "last_error": "",
}
BATCH = 500


def _copy(apps, schema_editor, *, source, target):
    """Copy every row's envelope from the columns ``source(name)`` to ``target(name)``."""
    from email_hosts.encryption import UndecryptableValue  # noqa: PLC0415

    OutboxMessage = apps.get_model("email_hosts", "OutboxMessage")  # noqa: N806
    messages = OutboxMessage.objects.using(schema_editor.connection.alias)
    sources = [source(name) for name in ENVELOPE]
    targets = [target(name) for name in ENVELOPE]
    batch = []
    for row in messages.only("pk", *sources).order_by("pk").iterator(BATCH):
        for name in ENVELOPE:
            value = getattr(row, source(name))
            if isinstance(value, UndecryptableValue):
                value = PLACEHOLDERS[name]
            setattr(row, target(name), value)
        batch.append(row)
        if len(batch) == BATCH:
            messages.bulk_update(batch, targets)
            batch = []
    if batch:
        messages.bulk_update(batch, targets)


def encrypt(apps, schema_editor):
    _copy(apps, schema_editor, source=str, target="{}_encrypted".format)


def decrypt(apps, schema_editor):
    _copy(apps, schema_editor, source="{}_encrypted".format, target=str)


class Migration(migrations.Migration):

    dependencies = [
        ("email_hosts", "0005_token_destination"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outboxmessage",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "queued"),
                    ("claimed", "claimed"),
                    ("sending", "sending"),
                    ("sent", "sent"),
                    ("failed", "failed"),
                    ("uncertain", "uncertain"),
                    ("cancelled", "cancelled"),
                    ("held", "held"),
                ],
                default="queued",
                max_length=20,
                verbose_name="status",
            ),
        ),
        *[
            migrations.AddField(
                model_name="outboxmessage",
                name=f"{name}_encrypted",
                field=email_hosts.fields.EncryptedJSONField(null=True)
                if isinstance(new, email_hosts.fields.EncryptedJSONField)
                else email_hosts.fields.EncryptedTextField(null=True),
            )
            for name, (_old, new) in ENVELOPE.items()
        ],
        # Nullable, so that unapplying can bring the old columns back first.
        *[
            migrations.AlterField(model_name="outboxmessage", name=name, field=old)
            for name, (old, _new) in ENVELOPE.items()
        ],
        migrations.RunPython(encrypt, decrypt),
        *[
            migrations.RemoveField(model_name="outboxmessage", name=name)
            for name in ENVELOPE
        ],
        *[
            migrations.RenameField(
                model_name="outboxmessage", old_name=f"{name}_encrypted", new_name=name
            )
            for name in ENVELOPE
        ],
        *[
            migrations.AlterField(model_name="outboxmessage", name=name, field=new)
            for name, (_old, new) in ENVELOPE.items()
        ],
    ]
