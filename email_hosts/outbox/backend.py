"""OutboxBackend: accept messages into the outbox, in the caller's transaction."""

from django.core.mail.backends.base import BaseEmailBackend
from django.db import router, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.outbox.models import OutboxMessage
from email_hosts.outbox.render_at_delivery import as_recipe
from email_hosts.outbox.rendering import render
from email_hosts.outbox.statements import insert
from email_hosts.outbox.tasks import wake_for_new_mail


_UNSET = object()


class MessageTooLarge(ValueError):
    """
    A message is larger than ``EMAIL_HOSTS_OUTBOX['MAX_MESSAGE_BYTES']``:
    ``OutboxBackend`` stored none of the messages it was given.
    """

    def __init__(self, size, limit):
        self.size, self.limit = size, limit
        super().__init__(
            f"The message is {size:,} bytes as sent, over the outbox's limit"
            f" of {limit:,} (EMAIL_HOSTS_OUTBOX['MAX_MESSAGE_BYTES']), so"
            f" nothing was queued. Attach less (a link to large files), or"
            f" raise MAX_MESSAGE_BYTES if the relays take messages this big."
        )


class OutboxBackend(BaseEmailBackend):
    """
    Store each message, encrypted, in the caller's database transaction, and
    have a worker deliver it once that transaction commits.

    With ``host``, messages leave through that host and its backups;
    without, each through the host that serves its sender's domain, as with
    ``RoutingBackend``, or ``fallback`` (``EMAIL_HOSTS_FALLBACK``).
    """

    def __init__(self, fail_silently=False, *, host=None, fallback=_UNSET, **kwargs):  # noqa: FBT002 -- Django's signature
        # Django 6.1 deprecates fail_silently in BaseEmailBackend; keep our own.
        super().__init__(**kwargs)
        self.fail_silently = fail_silently
        self.host = host
        self.fallback = conf.routing_fallback() if fallback is _UNSET else fallback

    # Messages carry password-reset links: error reports show none of them.
    @sensitive_variables()
    def send_messages(self, email_messages):
        """
        Store the messages and return how many the outbox accepted. Raise
        ``MessageTooLarge``, storing none, if one is over the outbox's limit.
        """
        now = timezone.now()
        rows = []
        for message in email_messages:
            if not message.recipients():
                continue
            # A message without a sender of its own gets its host's when it
            # leaves (host_sender.py): the request reads no host. A plain one
            # is rendered then too.
            limit = conf.outbox().MAX_MESSAGE_BYTES
            rendered = as_recipe(message, max_bytes=limit) or render(message)
            if len(rendered.message) > limit:
                raise MessageTooLarge(len(rendered.message), limit)
            rows.append(
                OutboxMessage(
                    host_key=self.host or "",
                    fallback_key=self.fallback or "",
                    from_email=rendered.from_email,
                    recipients=rendered.recipients,
                    pending_recipients=rendered.recipients,
                    message=rendered.message,
                    render_at_delivery=rendered.render_at_delivery,
                    message_id=rendered.message_id[:998],
                    next_attempt_at=now,
                )
            )
        if not rows:
            return 0
        using = router.db_for_write(OutboxMessage)
        # No savepoint inside the caller's transaction: two round trips less.
        with transaction.atomic(using=using, savepoint=False):
            insert(rows)
            wake_for_new_mail(using=using)
        return len(rows)
