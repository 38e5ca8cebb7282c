"""
Which edits of a stored host change where mail goes, and so need the
permission to point a host at another relay. Rotating a password is
everyday work; sending a domain's mail to a new server is not.
"""

import dataclasses

from django.utils.translation import gettext_lazy as _


#: The permission such edits need: only superusers hold it until granted.
PERMISSION = "email_hosts.repoint_emailhost"
#: Security from the weakest to the strongest.
_SECURITY = ("none", "starttls", "ssl")


@dataclasses.dataclass(frozen=True)
class Repointing:
    """One way an edit changes where mail goes: the form field, and what."""

    field: str
    reason: str


def repointings(before, after):
    """
    Return the :class:`Repointing` of storing the host ``after`` in place of
    ``before`` (None for a new host): a new host that sends or prints mail,
    another kind, another relay or port, another account on it, weaker
    security or another CA bundle, another OAuth2 server, another key, new
    sender domains or new backups. A host that keeps mail in memory or drops
    it (locmem, dummy) leaks nothing, so adding or editing one needs none.
    """
    kind = _kind(after.transport)
    if before is None:
        return [] if kind == "local" else [Repointing("key", _ADDING[kind])]
    if _kind(before.transport) != kind:
        return [Repointing("kind", _("giving it another kind"))]
    if kind == "local":
        return []
    found = []
    if kind == "smtp":
        found += _transport_changes(before.transport, after.transport)
    if before.key != after.key:
        found.append(Repointing("key", _("giving it another key")))
    if claimed := sorted(_claims(after) - _claims(before)):
        found.append(
            Repointing(
                "sender_domains",
                _("making it send for %(domains)s") % {"domains": ", ".join(claimed)},
            )
        )
    if backups := [key for key in after.backups if key not in before.backups]:
        found.append(
            Repointing(
                "backups",
                _("adding the backups %(keys)s") % {"keys": ", ".join(backups)},
            )
        )
    return found


_ADDING = {
    "smtp": _("adding a host that sends over SMTP"),
    "console": _("adding a host that prints mail, reset links included"),
}


def _kind(transport):
    """Return where a transport's mail goes: a relay, the console, or nowhere."""
    if transport.is_smtp:
        return "smtp"
    return "console" if transport.scheme == "console" else "local"


def _transport_changes(before, after):
    found = []
    if (before.host, before.port) != (after.host, after.port):
        found.append(Repointing("host", _("pointing it at another relay or port")))
    if before.username != after.username:
        found.append(Repointing("username", _("sending through another account")))
    if _SECURITY.index(after.security) < _SECURITY.index(before.security):
        found.append(Repointing("security", _("weakening its security")))
    if after.ssl_cafile != before.ssl_cafile:
        found.append(Repointing("ssl_cafile", _("trusting another CA bundle")))
    if _oauth2_server(after) != _oauth2_server(before):
        found.append(Repointing("token_url", _("using another OAuth2 server")))
    return found


def _oauth2_server(transport):
    oauth2 = transport.oauth2
    return (oauth2.token_url, oauth2.authorize_url) if oauth2 else None


def _claims(host):
    """Return the sender domains whose mail a host takes: listed, or its sender's."""
    return set(host.sender_domains) | ({host.default_domain} - {None})
