"""Every host there is, where it comes from, and how it sends, minus secrets."""

import dataclasses

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from email_hosts import conf, hosts
from email_hosts.dsn import Transport
from email_hosts.exceptions import EmailHostUndecryptable


UNDECRYPTABLE = _(
    "Cannot be decrypted with the current keys. Add the key it was encrypted"
    " with to FERNET_KEYS, or enter the connection again."
)


@dataclasses.dataclass(frozen=True)
class Entry:
    key: str
    source: str
    summary: str = ""
    default_from: str = ""
    problem: str = ""
    #: The domains the host lists, and its default sender's, for routing.
    sender_domains: tuple = ()
    default_domain: str | None = None
    #: The keys that take over when it fails, in order.
    backups: tuple = ()


def _described(host, source):
    return Entry(
        key=host.key,
        source=source,
        summary=host.transport.summary(),
        default_from=host.default_from,
        sender_domains=host.sender_domains,
        default_domain=host.default_domain,
        backups=host.backups,
    )


def problem_of(email_host):
    """Return what keeps a stored host from working, or an empty string."""
    try:
        hosts.from_row(email_host)
    except EmailHostUndecryptable:
        return str(UNDECRYPTABLE)
    except ImproperlyConfigured as exc:
        return str(exc)
    return ""


def stored_entry(email_host):
    """Describe an ``EmailHost`` row already loaded."""
    if problem := problem_of(email_host):
        return Entry(key=email_host.key, source="database", problem=problem)
    return _described(hosts.from_row(email_host), "database")


def settings_problem():
    """Return why ``EMAIL_HOSTS`` cannot be read at all, or an empty string."""
    try:
        conf.email_hosts()
    except ImproperlyConfigured as exc:
        return str(exc)
    return ""


def settings_keys():
    """
    Return the keys defined in ``EMAIL_HOSTS`` and ``MAILERS``; only the
    latter's if ``EMAIL_HOSTS`` is malformed (:func:`settings_problem`).
    """
    email_hosts = set() if settings_problem() else set(conf.email_hosts())
    return email_hosts | set(conf.mailers())


def _mailer_summary(entry):
    options = entry.get("OPTIONS", {})
    if not options.get("host"):
        return entry.get("BACKEND", "")
    return Transport(
        scheme="smtp",
        host=options["host"],
        port=options.get("port") or 25,
        username=options.get("username") or "",
        use_tls=bool(options.get("use_tls")),
        use_ssl=bool(options.get("use_ssl")),
    ).summary()


def settings_entry(key):
    """Describe the host that ``EMAIL_HOSTS`` or ``MAILERS`` defines for ``key``."""
    try:
        host = hosts.from_settings(key)
    except ImproperlyConfigured as exc:
        return Entry(key=key, source="EMAIL_HOSTS", problem=str(exc))
    if host is None:
        return Entry(
            key=key, source="MAILERS", summary=_mailer_summary(conf.mailers()[key])
        )
    return _described(host, "EMAIL_HOSTS")


def settings_entries():
    return [settings_entry(key) for key in sorted(settings_keys())]
