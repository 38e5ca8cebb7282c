"""Find the host for a key: a database row first, then ``EMAIL_HOSTS``."""

import dataclasses
import functools

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.domains import domain_of, parse_domains
from email_hosts.dsn import Transport, parse_dsn, relay_allowed, relays, render_error
from email_hosts.encryption import UndecryptableValue, current_fernet, decrypt_with
from email_hosts.exceptions import (
    EmailHostUndecryptable,
    InvalidEmailHost,
    RelayNotAllowed,
)
from email_hosts.keys import parse_keys
from email_hosts.senders import validate_sender


DATABASE = "database"
SETTINGS = "settings"


@dataclasses.dataclass(frozen=True)
class Host:
    """A resolved host: where it was found, how to reach it, who sends."""

    key: str
    source: str
    transport: Transport
    default_from: str
    #: The domains this host claims explicitly for RoutingBackend.
    sender_domains: tuple = ()
    #: The keys of the hosts to try, in order, when this one fails.
    backups: tuple = ()

    @functools.cached_property
    def default_domain(self):
        """Return the default sender's domain, which the host claims by default."""
        return domain_of(self.default_from) if self.default_from else None


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
    """
    Return the host stored under ``key``, or None; always None while the app
    is not in ``INSTALLED_APPS``, where ``EmailHostsBackend`` is a plain
    SMTP backend with a default sender, as in 0.3.

    Costs one query on every call, so that an edit in any process is seen at
    once. Decrypting and parsing are memoized by the row's ciphertext, which
    every edit replaces, so no cache can go stale.
    """
    if not conf.app_installed():
        return None
    row = _select(key)
    if row is None:
        return None
    ciphertext, *rest = row
    # bytes: some drivers give a memoryview, which no cache can key on.
    return _allowed(_encrypted_host(key, current_fernet(), (bytes(ciphertext), *rest)))


def _allowed(host):
    """
    Return a stored ``host``, or raise ``RelayNotAllowed`` if its relay is not
    in ``EMAIL_HOSTS_ALLOWED_RELAYS``. Checked on every use, not cached, so
    rows written past validation (fixtures, bulk_create, SQL) are refused too.
    """
    if not relay_allowed(host.transport):
        transport = host.transport
        raise RelayNotAllowed(host.key, relays.address(transport.host, transport.port))
    return host


def _select(key):
    connection = connections[router.db_for_read(_email_host_model())]
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(connection), [key])
        return cursor.fetchone()


@functools.cache
def _email_host_model():
    # Not at import: the app registry may not be ready then.
    return apps.get_model("email_hosts", "EmailHost")


_SELECT_SQL = {}


def _select_sql(connection):
    """
    Return the SELECT for one host. Built once per database: the ORM would
    rebuild it on every call, which costs more than running it.
    """
    if (sql := _SELECT_SQL.get(connection.alias)) is None:
        EmailHost = _email_host_model()  # noqa: N806 -- a model class
        quote = connection.ops.quote_name
        columns = ", ".join(
            quote(EmailHost._meta.get_field(name).column)
            for name in ("dsn", "default_from", "sender_domains", "backups")
        )
        key = quote(EmailHost._meta.get_field("key").column)
        sql = (
            f"SELECT {columns} FROM {quote(EmailHost._meta.db_table)} WHERE {key} = %s"
        )
        _SELECT_SQL[connection.alias] = sql
    return sql


@sensitive_variables()
def from_row(email_host):
    """Return the host for an ``EmailHost`` already loaded. Costs no query."""
    return _allowed(
        _stored_host(
            email_host.key,
            email_host.dsn,
            email_host.default_from,
            email_host.sender_domains,
            email_host.backups,
        )
    )


@sensitive_variables()
def _build_host(key, dsn, default_from, sender_domains, backups):
    if isinstance(dsn, UndecryptableValue):
        raise EmailHostUndecryptable(key)
    transport = transport_from_dsn(dsn, source="EmailHost", key=key)
    sender = default_from or transport.default_from_email
    try:
        # Rows written past validation (fixtures, bulk_create) are checked here.
        if default_from:
            validate_sender(default_from)
        declared = parse_domains(sender_domains) if sender_domains else ()
        backup_keys = parse_keys(backups) if backups else ()
    except ValidationError as exc:
        raise InvalidEmailHost(exc.messages[0], source="EmailHost", key=key) from None
    return Host(
        key=key,
        source=DATABASE,
        transport=transport,
        default_from=sender,
        sender_domains=declared or transport.sender_domains,
        backups=backup_keys or transport.backups,
    )


#: The host of a row already loaded, its DSN decrypted by the model field.
_stored_host = functools.lru_cache(maxsize=4096)(_build_host)


@functools.lru_cache(maxsize=4096)
@sensitive_variables()
def _encrypted_host(key, fernet, row):
    # One cache for decrypting and parsing: a host seen before costs neither.
    ciphertext, default_from, sender_domains, backups = row
    dsn = decrypt_with(fernet, ciphertext)
    return _build_host(key, dsn, default_from, sender_domains, backups)


@sensitive_variables()
def from_settings(key):
    """Return the host ``EMAIL_HOSTS`` defines for ``key``, or None."""
    email_hosts = conf.email_hosts()
    if key not in email_hosts:
        return None
    dsn = email_hosts[key]
    if not isinstance(dsn, str):
        # Raises InvalidEmailHost; the cache below would raise TypeError.
        transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
    return _settings_host(key, dsn)


@functools.lru_cache(maxsize=1024)
@sensitive_variables()
def _settings_host(key, dsn):
    transport = transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
    return Host(
        key=key,
        source=SETTINGS,
        transport=transport,
        default_from=transport.default_from_email,
        sender_domains=transport.sender_domains,
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
