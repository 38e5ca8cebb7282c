"""System checks for email hosts. Every ID is documented in docs/checks.rst."""

import datetime
import ipaddress

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router
from django.utils import timezone

from email_hosts import conf, encryption, hosts, reporting
from email_hosts.exceptions import EmailHostUndecryptable, RelayNotAllowed
from email_hosts.routing.table import build_table, find_cycle


TAG = "email_hosts"
OUR_BACKEND = "email_hosts.backends.EmailHostsBackend"


def _setting_errors(read, *, hint, check_id):
    """Return the error ``read()`` raises for a malformed setting, as a check."""
    try:
        read()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint=hint, id=check_id)]
    return []


@checks.register(TAG)
def check_email_hosts_setting(app_configs, **kwargs):
    """Report every ``EMAIL_HOSTS`` entry that does not parse (E001, E002)."""
    try:
        email_hosts = conf.email_hosts()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="For example EMAIL_HOSTS = {'shop': 'submission://...'}.",
                id="email_hosts.E002",
            )
        ]
    errors = []
    for key, dsn in email_hosts.items():
        try:
            hosts.transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    str(exc),
                    hint="Fix the DSN; the configuration docs list what it takes.",
                    id="email_hosts.E001",
                )
            )
    return errors


@checks.register(TAG)
def check_default_timeout(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_DEFAULT_TIMEOUT`` that is not a positive number (E003)."""
    return _setting_errors(
        conf.default_timeout,
        hint="Set it to the seconds a host may take, such as 10.",
        check_id="email_hosts.E003",
    )


@checks.register(TAG)
def check_allowed_relays_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_ALLOWED_RELAYS`` that is no list of names (E012)."""
    return _setting_errors(
        conf.allowed_relays,
        hint="A plain string is not a list: write ['smtp.example.com'].",
        check_id="email_hosts.E012",
    )


@checks.register(TAG, deploy=True)
def check_allowed_relays_set(app_configs, **kwargs):
    """Warn that whoever may re-point hosts can read the site's mail (W004)."""
    try:
        if settings.DEBUG or conf.allowed_relays() is not None:
            return []
    except ImproperlyConfigured:
        return []  # E012 reports it.
    return [
        checks.Warning(
            "EMAIL_HOSTS_ALLOWED_RELAYS is not set, so whoever may point email"
            " hosts at another relay in the admin (superusers, and users granted"
            " that permission) can point one at their own server and read the"
            " mail it sends, password resets included.",
            hint="Set it to the relays your hosts use, such as"
            " ['smtp.example.com', '.example.org']. See 'Who can read the mail'"
            " in the security docs.",
            id="email_hosts.W004",
        )
    ]


@checks.register(TAG)
def check_fernet_keys_setting(app_configs, **kwargs):
    """Report ``FERNET_KEYS`` that cannot encrypt (E013)."""
    return _setting_errors(
        encryption.fernet,
        hint="Generate a key with Fernet.generate_key() or any long random"
        " string, and keep it out of the code.",
        check_id="email_hosts.E013",
    )


@checks.register(TAG)
def check_connection_reuse_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_CONNECTION_REUSE`` that sets no limits (E014)."""
    return _setting_errors(
        conf.connection_reuse,
        hint="Write True, False, or a dict such as {'IDLE_TIMEOUT': 5}.",
        check_id="email_hosts.E014",
    )


@checks.register(TAG)
def check_pipelining_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_PIPELINING`` that is not a bool (E015)."""
    return _setting_errors(
        conf.pipelining,
        hint="Leave it unset, or write False for a relay that offers"
        " PIPELINING but mishandles it.",
        check_id="email_hosts.E015",
    )


@checks.register(TAG, deploy=True)
def check_fernet_key_length(app_configs, **kwargs):
    """Warn about ``FERNET_KEYS`` entries shorter than 32 characters (W005)."""
    try:
        short = encryption.short_keys()
    except ImproperlyConfigured:
        return []  # E013 reports it.
    return [
        checks.Warning(
            f"FERNET_KEYS[{index}] is shorter than {encryption.MIN_KEY_LENGTH}"
            " characters, so the stored hosts it encrypts are easier to guess.",
            hint="Put a longer random key first and run rotate_email_host_keys.",
            id="email_hosts.W005",
        )
        for index in short
    ]


@checks.register(TAG)
def check_exception_reporter_filter(app_configs, **kwargs):
    """Warn that error reports would show ``EMAIL_HOSTS`` passwords (W006)."""
    try:
        shown = reporting.configured_filter_shows_passwords()
    except ImproperlyConfigured:
        return []  # E002 reports it.
    if not shown:
        return []
    return [
        checks.Warning(
            f"The exception reporter filter {settings.DEFAULT_EXCEPTION_REPORTER_FILTER}"
            " shows the passwords in EMAIL_HOSTS in error reports (the debug page"
            " and AdminEmailHandler mails).",
            hint="Set DEFAULT_EXCEPTION_REPORTER_FILTER ="
            " 'email_hosts.reporting.ExceptionReporterFilter', or a subclass of it.",
            id="email_hosts.W006",
        )
    ]


@checks.register(TAG)
def check_exception_reporter(app_configs, **kwargs):
    """
    Warn that error reports still show URL passwords in the request's URL,
    its GET parameters and exception messages, which no filter sees (W013).
    """
    if not reporting.masks_with_filter_alone():
        return []
    return [
        checks.Warning(
            f"DEFAULT_EXCEPTION_REPORTER_FILTER masks passwords in error"
            f" reports, but {settings.DEFAULT_EXCEPTION_REPORTER} shows the"
            f" request's URL, its GET parameters and exception messages as"
            f" they are, passwords in URLs included.",
            hint="Set DEFAULT_EXCEPTION_REPORTER ="
            " 'email_hosts.reporting.ExceptionReporter', or a subclass of it.",
            id="email_hosts.W013",
        )
    ]


@checks.register(TAG, deploy=True)
def check_fernet_keys(app_configs, **kwargs):
    """Warn that stored hosts are encrypted with SECRET_KEY (W001)."""
    if getattr(settings, "FERNET_KEYS", None) is not None:
        return []
    return [
        checks.Warning(
            "Stored email hosts are encrypted with a key derived from SECRET_KEY,"
            " because FERNET_KEYS is not set.",
            hint="Set FERNET_KEYS to keys of their own, so that rotating"
            " SECRET_KEY and rotating these keys are separate decisions. See"
            " 'Rotating keys' in the docs.",
            id="email_hosts.W001",
        )
    ]


def _stored_hosts(databases):
    """
    Return a queryset of the stored hosts for each of ``databases`` that can
    be asked: reachable, and migrated (before ``migrate`` creates the table,
    there is nothing to check).
    """
    from email_hosts.models import EmailHost  # noqa: PLC0415 -- apps not ready at import

    querysets = []
    for alias in databases:
        try:
            migrated = (
                EmailHost._meta.db_table
                in connections[alias].introspection.table_names()
            )
        except DatabaseError:
            continue  # Unreachable; Django's own database checks say so.
        if migrated:
            querysets.append(EmailHost.objects.using(alias))
    return querysets


def _optionless_mailers():
    return [
        alias
        for alias, entry in conf.mailers().items()
        if entry.get("BACKEND") == OUR_BACKEND and not entry.get("OPTIONS")
    ]


def _stored_keys_among(keys):
    """Return which of ``keys`` are stored, or None if the database cannot be asked."""
    from email_hosts.models import EmailHost  # noqa: PLC0415 -- apps not ready at import

    querysets = _stored_hosts([router.db_for_read(EmailHost)])
    if not querysets:
        return None
    return set(querysets[0].filter(key__in=keys).values_list("key", flat=True))


@checks.register(TAG)
def check_optionless_mailers(app_configs, **kwargs):
    """
    Report ``MAILERS`` entries that only a stored host can serve: an error if
    it is missing (E004), a warning if the database cannot be asked (W002).
    """
    aliases = _optionless_mailers()
    if not aliases:
        return []
    stored = _stored_keys_among(aliases)
    if stored is None:
        return [
            checks.Warning(
                f"MAILERS[{alias!r}] has no OPTIONS, so only the stored host"
                f" {alias!r} can serve it, and the database cannot be asked"
                " whether it exists.",
                hint="Run migrate and check again, or give the entry OPTIONS.",
                id="email_hosts.W002",
            )
            for alias in aliases
        ]
    return [
        checks.Error(
            f"MAILERS[{alias!r}] has no OPTIONS and no email host {alias!r} is"
            " stored in the database.",
            hint="Add the host in the admin, or give the entry OPTIONS.",
            id="email_hosts.E004",
        )
        for alias in aliases
        if alias not in stored
    ]


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cleartext_warning(host):
    transport = host.transport
    if (
        not transport.is_smtp
        or not transport.password
        or transport.use_tls
        or transport.use_ssl
        or _is_loopback(transport.host)
    ):
        return []
    return [
        checks.Warning(
            f"Email host {host.key!r} ({host.source}) sends its password to"
            f" {transport.host} without TLS.",
            hint="Use submission:// or add ?tls or ?ssl to the DSN.",
            id="email_hosts.W003",
        )
    ]


#: Relays whose providers stop taking passwords for SMTP, and what to say.
PASSWORD_RETIRING_RELAYS = {
    "smtp.office365.com": "microsoft",
    "smtp-legacy.office365.com": "microsoft",
    "smtp.gmail.com": "google",
}


def _retiring_password_warning(host):
    transport = host.transport
    provider = PASSWORD_RETIRING_RELAYS.get((transport.host or "").lower())
    if (
        not transport.is_smtp
        or not transport.password
        or transport.oauth2
        or provider is None
    ):
        return []
    hint = {
        "microsoft": "Microsoft turns Basic authentication for SMTP AUTH off by"
        " default for existing tenants at the end of December 2026, and later"
        " removes it. Move this host to OAuth2 (see 'Microsoft 365' in the"
        " docs) or to another relay.",
        "google": "Google accepts no account password for SMTP: only an app"
        " password, which a Workspace administrator may forbid, or OAuth2."
        " Move this host to an account connected with OAuth2 (see 'Google"
        " Workspace' in the docs) or to another relay.",
    }[provider]
    return [
        checks.Warning(
            f"Email host {host.key!r} ({host.source}) logs in to"
            f" {transport.host} with a password.",
            hint=hint,
            id="email_hosts.W011",
        )
    ]


@checks.register(TAG, deploy=True)
def check_settings_host_logins(app_configs, **kwargs):
    """
    Warn about ``EMAIL_HOSTS`` entries that log in without TLS (W003), or
    with a password their provider is retiring (W011).
    """
    try:
        keys = list(conf.email_hosts())
    except ImproperlyConfigured:
        return []  # E002 reports it.
    warnings = []
    for key in keys:
        try:
            host = hosts.from_settings(key)
        except ImproperlyConfigured:
            continue  # E001 reports it.
        warnings += _cleartext_warning(host) + _retiring_password_warning(host)
    return warnings


@checks.register(TAG, checks.Tags.database)
def check_stored_hosts(app_configs, databases=None, **kwargs):
    """
    Report stored hosts that cannot be used (E005, E006), whose relay is not
    allowed (E011), that log in without TLS (W003), or with a password their
    provider is retiring (W011). Runs only when the database may be asked.
    """
    rows = [row for queryset in _stored_hosts(databases or []) for row in queryset]
    messages = []
    for row in rows:
        try:
            host = hosts.from_row(row)
        except EmailHostUndecryptable as exc:
            messages.append(
                checks.Error(
                    str(exc),
                    hint="See 'Rotating keys' in the docs.",
                    id="email_hosts.E005",
                )
            )
        except RelayNotAllowed as exc:
            messages.append(
                checks.Error(
                    str(exc),
                    hint="Change the host in the admin, or extend"
                    " EMAIL_HOSTS_ALLOWED_RELAYS.",
                    id="email_hosts.E011",
                )
            )
        except ImproperlyConfigured as exc:
            messages.append(
                checks.Error(
                    str(exc),
                    hint="Enter the connection again in the admin.",
                    id="email_hosts.E006",
                )
            )
        else:
            messages += _cleartext_warning(host) + _retiring_password_warning(host)
    return messages


# Retired: email_hosts.E007 to E010 were errors, and so made every later
# migrate fail (migrate runs the database checks); they are W007 to W010.
@checks.register(TAG, checks.Tags.database)
def check_routing(app_configs, databases=None, **kwargs):
    """
    Warn about what RoutingBackend cannot route: sender domains several hosts
    tie for (W007), backup cycles (W008), backups that name no host (W009)
    and a fallback that names no host (W010). Warnings, never errors: hosts
    picked by key work regardless, and migrate must not fail over routing.
    """
    if not _stored_hosts(databases or []):
        return []
    try:
        table = build_table()
    except ImproperlyConfigured:
        return []  # E002 reports it.
    messages = [
        checks.Warning(
            f"RoutingBackend cannot choose a host for the sender domain"
            f" {domain!r}: {', '.join(map(repr, keys))} claim it"
            f" {'explicitly' if domain in table.explicit else 'by their default sender'}.",
            hint="List the domain in the sender domains of the one host that"
            " should send its mail.",
            id="email_hosts.W007",
        )
        for domain, keys in sorted(table.conflicts.items())
    ]
    if cycle := find_cycle(table.backups):
        messages.append(
            checks.Warning(
                f"The backups of the email hosts go round in a circle: {' -> '.join(cycle)}.",
                hint="Remove one of these backups.",
                id="email_hosts.W008",
            )
        )
    messages += [
        checks.Warning(
            f"Email host {key!r} names the backup {backup!r}, which does not exist.",
            hint="Add the host, or remove it from the backups.",
            id="email_hosts.W009",
        )
        for key, backup in table.unknown_backups()
    ]
    fallback = conf.routing_fallback()
    if fallback is not None and fallback not in table.hosts | table.broken:
        messages.append(
            checks.Warning(
                f"EMAIL_HOSTS_FALLBACK names {fallback!r}, which is no email host.",
                hint="Set it to the key of a stored or EMAIL_HOSTS host, or to None"
                " for Django's default backend.",
                id="email_hosts.W010",
            )
        )
    return messages


@checks.register(TAG)
def check_retry_delays_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_RETRY_DELAYS`` that is no list of seconds (E016)."""
    return _setting_errors(
        conf.retry_delays,
        hint="Leave it unset for retries over a day, or write a list such as"
        " [60, 300, 1800].",
        check_id="email_hosts.E016",
    )


@checks.register(TAG)
def check_outbox_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_OUTBOX`` with unknown or invalid options (E017)."""
    return _setting_errors(
        conf.outbox,
        hint="Write a dict such as {'RETENTION_DAYS': 30}; the outbox docs list"
        " every option.",
        check_id="email_hosts.E017",
    )


@checks.register(TAG)
def check_rate_limits_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_RATE_LIMITS`` the outbox cannot count (E018)."""
    return _setting_errors(
        conf.rate_limits,
        hint="For example {'shop': {'MESSAGES_PER_MINUTE': 30,"
        " 'RECIPIENTS_PER_DAY': 10000}}.",
        check_id="email_hosts.E018",
    )


@checks.register(TAG)
def check_failed_host_pause_setting(app_configs, **kwargs):
    """Report an ``EMAIL_HOSTS_FAILED_HOST_PAUSE`` that is no number (E019)."""
    return _setting_errors(
        conf.failed_host_pause,
        hint="Write the seconds to skip a failing host, such as 60, or 0.",
        check_id="email_hosts.E019",
    )


@checks.register(TAG, checks.Tags.database)
def check_outbox_worker(app_configs, databases=None, **kwargs):
    """Warn that outbox messages wait and no worker ran recently (W012)."""
    from email_hosts.outbox.claims import last_beat, waiting_since  # noqa: PLC0415 -- apps not ready at import

    if not _stored_hosts(databases or []):
        return []
    try:
        silence = datetime.timedelta(seconds=conf.outbox().WORKER_SILENCE_SECONDS)
    except ImproperlyConfigured:
        return []  # E017 reports it.
    try:
        oldest = waiting_since()
        ran_at = last_beat()
    except DatabaseError:
        return []  # The outbox's table is not migrated yet.
    if oldest is None or oldest > timezone.now() - silence:
        return []
    if ran_at is not None and ran_at > timezone.now() - silence:
        return []
    return [
        checks.Warning(
            f"Outbox messages have waited since {oldest:%Y-%m-%d %H:%M %Z}, and"
            f" no outbox worker has run since"
            f" {f'{ran_at:%Y-%m-%d %H:%M %Z}' if ran_at else 'the outbox was created'}.",
            hint="Run a worker of the tasks backend in"
            " EMAIL_HOSTS_OUTBOX['TASK_BACKEND'], such as manage.py db_worker"
            " for django-tasks-db, or deliveroutbox from cron.",
            id="email_hosts.W012",
        )
    ]
