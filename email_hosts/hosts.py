"""Find the host for a key: a database row first, then ``EMAIL_HOSTS``."""

import dataclasses

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.domains import domain_of, parse_domains
from email_hosts.dsn import Transport, parse_dsn, render_error
from email_hosts.exceptions import EmailHostUndecryptable, InvalidEmailHost
from email_hosts.fields import UndecryptableValue
from email_hosts.routing import parse_keys


DATABASE = "database"
SETTINGS = "settings"


@dataclasses.dataclass(frozen=True)
class Host:
    """A resolved host: where it was found, how to reach it, who sends."""

    key: str
    source: str
    transport: Transport
    default_from: str
    #: The domains whose senders this host serves, its sender's first.
    sender_domains: tuple = ()
    #: The keys of the hosts to try, in order, when this one fails.
    backups: tuple = ()


@sensitive_variables()
def transport_from_dsn(dsn, *, source, key):
    """
    Return the DSN's transport, or raise ``InvalidEmailHost`` naming the key.

    The message is in English, like Django's own configuration errors, and
    can be raised while settings.py is still loading.
    """
    try:
        return parse_dsn(dsn)
    except ValidationError as exc:
        raise InvalidEmailHost(render_error(exc), source=source, key=key) from None


@sensitive_variables()
def from_database(key):
    """Return the host stored under ``key``, or None. Costs one query."""
    from email_hosts.models import EmailHost  # noqa: PLC0415 -- apps not ready at import

    row = (
        EmailHost.objects.filter(key=key)
        .values_list("dsn", "default_from", "sender_domains", "backups")
        .first()
    )
    return None if row is None else _database_host(key, *row)


def from_row(email_host):
    """Return the host for an ``EmailHost`` already loaded. Costs no query."""
    return _database_host(
        email_host.key,
        email_host.dsn,
        email_host.default_from,
        email_host.sender_domains,
        email_host.backups,
    )


@sensitive_variables()
def _database_host(key, dsn, default_from, sender_domains, backups):
    if isinstance(dsn, UndecryptableValue):
        raise EmailHostUndecryptable(key)
    transport = transport_from_dsn(dsn, source="EmailHost", key=key)
    sender = default_from or transport.default_from_email
    return Host(
        key=key,
        source=DATABASE,
        transport=transport,
        default_from=sender,
        sender_domains=_served_domains(
            sender, parse_domains(sender_domains) or transport.sender_domains
        ),
        backups=parse_keys(backups) or transport.backups,
    )


def _served_domains(sender, declared):
    """Return the sender's domain followed by the declared ones, each once."""
    own = domain_of(sender) if sender else None
    return tuple(dict.fromkeys(([own] if own else []) + list(declared)))


@sensitive_variables()
def from_settings(key):
    """Return the host ``EMAIL_HOSTS`` defines for ``key``, or None."""
    if (dsn := conf.email_hosts().get(key)) is None:
        return None
    transport = transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
    return Host(
        key=key,
        source=SETTINGS,
        transport=transport,
        default_from=transport.default_from_email,
        sender_domains=_served_domains(
            transport.default_from_email, transport.sender_domains
        ),
        backups=transport.backups,
    )


def find(key):
    """Return the host for ``key`` from the database or ``EMAIL_HOSTS``, or None."""
    return from_database(key) or from_settings(key)


def all_keys():
    """Return the keys of every stored host and every ``EMAIL_HOSTS`` entry."""
    from email_hosts.models import EmailHost  # noqa: PLC0415 -- apps not ready at import

    return sorted(
        set(EmailHost.objects.values_list("key", flat=True)) | set(conf.email_hosts())
    )
