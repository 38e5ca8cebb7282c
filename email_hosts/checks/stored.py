"""Check the hosts stored in the database, and the mailers that need them."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import router

from email_hosts import conf, hosts
from email_hosts.checks.base import TAG, stored_hosts
from email_hosts.checks.logins import login_warnings
from email_hosts.checks.oauth2 import missing_extra_errors
from email_hosts.exceptions import EmailHostUndecryptable, RelayNotAllowed


OUR_BACKEND = "email_hosts.backends.EmailHostsBackend"


def _optionless_mailers():
    return [
        alias
        for alias, entry in conf.mailers().items()
        if entry.get("BACKEND") == OUR_BACKEND and not entry.get("OPTIONS")
    ]


def _stored_keys_among(keys):
    """Return which of ``keys`` are stored, or None if the database cannot be asked."""
    from email_hosts.models import EmailHost  # noqa: PLC0415 -- apps not ready at import

    querysets = stored_hosts([router.db_for_read(EmailHost)])
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


@checks.register(TAG, checks.Tags.database)
def check_stored_hosts(app_configs, databases=None, **kwargs):
    """
    Report stored hosts that cannot be used (E005, E006), whose relay is not
    allowed (E011), that log in without TLS (W003), with a password their
    provider is retiring (W011), or with OAuth2 while its extra is missing
    (E020). Runs only when the database may be asked.
    """
    rows = [row for queryset in stored_hosts(databases or []) for row in queryset]
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
            messages += login_warnings(host) + missing_extra_errors(host)
    return messages
