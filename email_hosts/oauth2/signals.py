"""A host whose destination changes drops its connected account's tokens."""

from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_save
from django.views.decorators.debug import sensitive_variables

from email_hosts import hosts
from email_hosts.models import ConnectedAccount
from email_hosts.oauth2 import accounts
from email_hosts.oauth2.binding import Destination


@sensitive_variables()
def drop_tokens_of_a_moved_host(sender, instance, **kwargs):
    """
    When a host is saved (the admin, ``save()``, ``loaddata``) with another
    relay, port, security, mailbox, token endpoint, client ID or client
    secret than its connected account's tokens were issued for, drop them:
    the host reads "reconnect needed" until an administrator connects the
    account again. Rows written past ``save()`` are caught where the
    tokens are used.
    """
    account = ConnectedAccount.objects.filter(host__key=instance.key).first()
    if account is None or not (account.access_token or account.refresh_token):
        return
    try:
        transport = hosts.from_row(instance).transport
    except ImproperlyConfigured:
        transport = None
    if (
        transport is None
        or transport.oauth2 is None
        or not accounts.issued_for(account, Destination.of(transport))
    ):
        accounts.drop_tokens(instance.key)


post_save.connect(
    drop_tokens_of_a_moved_host,
    sender="email_hosts.EmailHost",
    dispatch_uid="email_hosts.oauth2",
)
