"""The outbox's messages, stored encrypted until a worker delivers them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from email_hosts.encryption import UndecryptableValue
from email_hosts.fields import (
    EncryptedJSONField,
    EncryptedMessageField,
    EncryptedTextField,
)


class Status(models.TextChoices):
    #: Waiting for its next attempt (``next_attempt_at``).
    QUEUED = "queued", _("queued")
    #: A worker holds it and has not begun sending it: safe to take back.
    CLAIMED = "claimed", _("claimed")
    #: A worker began sending it; if the worker died, the relay may have it.
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    #: The relay may have accepted it: never resent without a person's say.
    UNCERTAIN = "uncertain", _("uncertain")
    CANCELLED = "cancelled", _("cancelled")
    #: Arrived by ``loaddata`` (a copy from another database): never sent
    #: before a person resends it.
    HELD = "held", _("held")


class OutboxMessage(models.Model):
    """
    A message accepted by ``OutboxBackend``: the bytes it is sent as, its
    envelope, and how its delivery goes.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    #: The host it must leave through, or "" to route it by its sender.
    host_key = models.CharField(_("host"), max_length=100, blank=True)
    #: Without ``host_key``: the host for senders no host serves, or "".
    fallback_key = models.CharField(_("fallback host"), max_length=100, blank=True)
    # The envelope, the relay's answers and the message are personal data,
    # stored encrypted like the DSNs (docs/security.rst).
    from_email = EncryptedTextField(_("envelope sender"))
    #: Every envelope recipient, as accepted.
    recipients = EncryptedJSONField(_("recipients"))
    #: The recipients it has yet to reach: a retry goes to these alone.
    pending_recipients = EncryptedJSONField(_("pending recipients"))
    #: Recipients a relay refused for good, with its answer.
    refused_recipients = EncryptedJSONField(_("refused recipients"), default=dict)
    #: The message as sent, or b"" when ``parts`` hold it.
    message = EncryptedMessageField(_("message"))
    #: How many ``OutboxMessagePart`` rows hold the message, for one larger
    #: than a part; 0 when ``message`` holds it (docs/outbox.rst, "Big
    #: messages").
    parts = models.PositiveIntegerField(_("parts"), default=0)
    #: Whether ``message`` holds what a plain message says, as JSON, to be
    #: rendered when it leaves, rather than its bytes (render_at_delivery.py).
    render_at_delivery = models.BooleanField(_("rendered when sent"), default=False)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_error = EncryptedTextField(_("last error"), blank=True, default="")
    #: The host its last attempt was for: ``host_key``, or its sender's.
    routed_to = models.CharField(_("routed to"), max_length=100, blank=True)
    #: The host it last left through.
    sent_through = models.CharField(_("sent through"), max_length=100, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: Which worker holds it, and since when (CLAIMED and SENDING).
    claimed_by = models.CharField(_("claimed by"), max_length=100, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"], name="email_hosts_outbox_due"
            ),
            models.Index(
                fields=["status", "claimed_at"], name="email_hosts_outbox_claimed"
            ),
            models.Index(fields=["created_at"], name="email_hosts_outbox_created"),
            # The host list's counts of the last day, per host.
            models.Index(
                fields=["routed_to", "created_at"], name="email_hosts_outbox_routed"
            ),
        ]
        permissions = [("view_message_body", _("Can view outbox message bodies"))]

    def __str__(self):
        return self.message_id or f"#{self.pk}"

    def __repr__(self):
        return f"<OutboxMessage {self.pk} {self.status}>"


class OutboxMessagePart(models.Model):
    """
    One part, in order, of an outbox message too large for one row: so that
    no statement carries more than a part, which MariaDB's and MySQL's
    ``max_allowed_packet`` would refuse, and no Fernet token holds more.
    """

    outbox_message = models.ForeignKey(
        OutboxMessage, on_delete=models.CASCADE, related_name="+"
    )
    #: 0 for the first part.
    position = models.PositiveIntegerField()
    chunk = EncryptedMessageField()

    class Meta:
        verbose_name = _("outbox message part")
        verbose_name_plural = _("outbox message parts")
        constraints = [
            models.UniqueConstraint(
                fields=["outbox_message", "position"], name="email_hosts_one_part"
            )
        ]

    def __str__(self):
        return f"{self.outbox_message_id}/{self.position}"


#: Why a message that no key decrypts failed, in the site's words.
UNREADABLE = (
    "This message cannot be decrypted with the current keys, so it was not"
    " sent. Add the key it was stored with to FERNET_KEYS (or"
    " SECRET_KEY_FALLBACKS), then resend it."
)
ENCRYPTED_FIELDS = (
    "message",
    "from_email",
    "recipients",
    "pending_recipients",
    "refused_recipients",
)


def unreadable(row):
    """Return whether no current key decrypts the message or its envelope."""
    return any(
        isinstance(getattr(row, name), UndecryptableValue) for name in ENCRYPTED_FIELDS
    )


class WorkerBeat(models.Model):
    """When an outbox worker last ran, for the check that warns without one."""

    name = models.CharField(max_length=100, unique=True)
    ran_at = models.DateTimeField()

    class Meta:
        verbose_name = _("outbox worker")
        verbose_name_plural = _("outbox workers")

    def __str__(self):
        return self.name


class RateWindow(models.Model):
    """What the outbox sent through a host in one minute, hour or day."""

    key = models.CharField(max_length=100)
    window = models.CharField(max_length=10)
    starts_at = models.DateTimeField()
    messages = models.PositiveIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rate window")
        verbose_name_plural = _("rate windows")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "window", "starts_at"], name="email_hosts_one_window"
            )
        ]

    def __str__(self):
        return f"{self.key} {self.window} {self.starts_at:%Y-%m-%d %H:%M}"
