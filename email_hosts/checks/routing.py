"""Check that RoutingBackend can choose a host for every sender."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from email_hosts import conf
from email_hosts.checks.base import TAG, stored_hosts
from email_hosts.routing.table import build_table, find_cycle


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
    if not stored_hosts(databases or []):
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
