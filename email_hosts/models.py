"""Email hosts stored in the database."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from email_hosts.domains import validate_domains
from email_hosts.dsn import validate_dsn
from email_hosts.fields import EncryptedDSNField, EncryptedSecretField
from email_hosts.keys import validate_keys
from email_hosts.senders import validate_sender


class KeyedManager(models.Manager):
    """Fixtures name rows by key, so that loading one updates it in place."""

    def get_by_natural_key(self, key):
        return self.get(key=key)


class EmailHost(models.Model):
    key = models.SlugField(
        _("key"),
        max_length=100,
        unique=True,
        help_text=_(
            "A short name for this host, such as shop. Code sends through the"
            " host by this name, so changing it needs a change in the code too."
        ),
    )
    dsn = EncryptedDSNField(
        _("DSN"),
        validators=[validate_dsn],
        help_text=_(
            "For example submission://user:password@smtp.example.com:587?timeout=10."
            " Stored encrypted."
        ),
    )
    default_from = models.CharField(
        _("default sender"),
        max_length=254,
        blank=True,
        validators=[validate_sender],
        help_text=_(
            "Used when a message has no sender of its own, for example"
            " Shop &lt;shop@example.com&gt;."
        ),
    )
    sender_domains = models.CharField(
        _("sender domains"),
        max_length=1000,
        blank=True,
        validators=[validate_domains],
        help_text=_(
            "Where the site sends mail by its sender's domain, mail from these"
            " domains leaves through this host, as does mail from the default"
            " sender's domain. Separate them with commas."
        ),
    )
    backups = models.CharField(
        _("backup hosts"),
        max_length=1000,
        blank=True,
        validators=[validate_keys],
        help_text=_(
            "Keys of the hosts to try, in order, when this one cannot be reached"
            " or refuses the login. Separate them with commas."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = KeyedManager()

    class Meta:
        ordering = ["key"]
        verbose_name = _("email host")
        verbose_name_plural = _("email hosts")
        # Changing where mail goes (another relay, new sender domains, a new
        # SMTP host) needs this on top of add and change: email_hosts.admin.repointing.
        permissions = [
            ("repoint_emailhost", _("Can point an email host at another relay"))
        ]

    def __str__(self):
        return self.key

    def __repr__(self):
        return f"<EmailHost {self.key!r}>"

    def natural_key(self):
        return (self.key,)


class HostStatus(models.Model):
    """
    How the last attempt to connect and log in to a host's relay went, by
    host key: for stored hosts and hosts from settings alike. Written by
    the admin's checks, ``sendtestemailhosts`` and real sends.
    """

    key = models.CharField(_("key"), max_length=100, unique=True)
    ok = models.BooleanField(_("works"))
    message = models.CharField(_("result"), max_length=500)
    checked_at = models.DateTimeField(_("checked at"))
    #: Until when processes skip the host for its backups, after a failure.
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True)

    objects = KeyedManager()

    class Meta:
        verbose_name = _("host status")
        verbose_name_plural = _("host statuses")

    def __str__(self):
        return f"{self.key}: {self.message}"

    def natural_key(self):
        return (self.key,)


class AccountManager(models.Manager):
    """Fixtures name a connected account by its host's key."""

    def get_by_natural_key(self, key):
        return self.get(host__key=key)


class ConnectedAccount(models.Model):
    """
    The account an administrator connected to an OAuth2 host with consent:
    its refresh token, and the access token last got with it, encrypted.
    Refreshing locks the row, so that processes refreshing at once never
    lose the newest refresh token.
    """

    host = models.OneToOneField(
        EmailHost,
        on_delete=models.CASCADE,
        related_name="connected_account",
        verbose_name=_("email host"),
    )
    #: Where the tokens may go, as a digest of the relay, port, security,
    #: mailbox, token endpoint, client ID and client secret they were issued
    #: for (encrypted, since it covers the secret); any other destination
    #: gets none of them.
    destination = EncryptedSecretField(_("destination"), blank=True, default="")
    refresh_token = EncryptedSecretField(_("refresh token"))
    access_token = EncryptedSecretField(_("access token"), blank=True)
    expires_at = models.DateTimeField(_("access token expires at"), null=True)
    connected_by = models.CharField(_("connected by"), max_length=150, blank=True)
    connected_at = models.DateTimeField(_("connected at"))
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True)
    #: Why the account must be connected again; empty while it works.
    reconnect_reason = models.CharField(
        _("reconnect needed because"), max_length=500, blank=True
    )

    objects = AccountManager()

    class Meta:
        verbose_name = _("connected account")
        verbose_name_plural = _("connected accounts")

    def __str__(self):
        return str(self.host)

    def __repr__(self):
        return f"<ConnectedAccount of {self.host_id!r}>"

    def natural_key(self):
        return self.host.natural_key()

    natural_key.dependencies = ["email_hosts.emailhost"]


# The outbox's models live beside it, in email_hosts.outbox.
from email_hosts.outbox.models import OutboxMessage, RateWindow, WorkerBeat


__all__ = [
    "ConnectedAccount",
    "EmailHost",
    "HostStatus",
    "OutboxMessage",
    "RateWindow",
    "WorkerBeat",
]
