"""What deleting stored hosts does to the backup chains of the other hosts."""

import dataclasses

from django.core.exceptions import ImproperlyConfigured

from email_hosts import conf, hosts
from email_hosts.routing.table import build_table


@dataclasses.dataclass(frozen=True)
class LostBackup:
    """A host about to be deleted that other hosts list as a backup."""

    key: str
    #: The keys of the hosts that list it, which are not deleted too.
    listed_by: tuple
    #: The ``EMAIL_HOSTS`` entry with the same key, which takes its place
    #: (its transport summary), or "" if the backup simply disappears.
    replaced_by: str = ""


def backups_lost_by_deleting(keys):
    """
    Return a :class:`LostBackup` for each of the stored hosts ``keys`` that
    another host lists as a backup. Reads every host, like the routing page.
    """
    deleted = set(keys)
    table = build_table(without_unreadable_settings=True)
    lost = []
    for key in sorted(deleted):
        listed_by = tuple(
            other for other in table.listing_as_backup(key) if other not in deleted
        )
        if listed_by:
            lost.append(LostBackup(key, listed_by, _settings_summary(key)))
    return lost


def _settings_summary(key):
    try:
        if key not in conf.email_hosts():
            return ""
        return hosts.from_settings(key).transport.summary()
    except ImproperlyConfigured as exc:
        return str(exc)
