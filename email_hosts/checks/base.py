"""What the system checks share: their tag, and the stored hosts they may ask."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from email_hosts import conf, hosts


TAG = "email_hosts"


def setting_errors(read, *, hint, check_id):
    """Return the error ``read()`` raises for a malformed setting, as a check."""
    try:
        read()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint=hint, id=check_id)]
    return []


def settings_hosts():
    """
    Yield the host of each ``EMAIL_HOSTS`` entry that parses; E002 and E001
    report the setting and the entries that do not.
    """
    try:
        keys = list(conf.email_hosts())
    except ImproperlyConfigured:
        return
    for key in keys:
        try:
            yield hosts.from_settings(key)
        except ImproperlyConfigured:
            continue


def stored_hosts(databases):
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
