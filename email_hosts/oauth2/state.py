"""An OAuth2 host's token state in words, for commands: never a secret."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from email_hosts.models import ConnectedAccount
from email_hosts.oauth2 import accounts, tokens
from email_hosts.oauth2.binding import Destination


def describe(key, transport):
    """
    Return how the host ``key`` holds its OAuth2 tokens, such as "access
    token valid for 42 more minutes", or "" for a password login.
    """
    oauth2 = transport.oauth2
    if oauth2 is None:
        return ""
    destination = Destination.of(transport)
    if oauth2.delegated:
        account = ConnectedAccount.objects.filter(host__key=key).first()
        return accounts.describe(account, destination)
    token = tokens.held(key, oauth2, destination) or (
        tokens.shared(key, oauth2, destination)
    )
    if token is None or not token.is_fresh():
        return _("No access token yet: the next send gets one.")
    minutes = token.minutes_left()
    return ngettext(
        "An access token from %(issuer)s, valid for %(minutes)s more minute.",
        "An access token from %(issuer)s, valid for %(minutes)s more minutes.",
        minutes,
    ) % {"issuer": oauth2.token_host, "minutes": minutes}
