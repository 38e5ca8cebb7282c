from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts import hosts
from email_hosts.hosts import inventory
from email_hosts.models import EmailHost
from email_hosts.oauth2 import state as oauth2_state


class Command(BaseCommand):
    help = gettext_lazy(
        "List every email host with where it comes from (database, settings, or"
        " database over settings) and how it sends. Passwords are never shown."
    )

    def handle(self, *args, **options):
        stored_rows = {row.key: row for row in EmailHost.objects.all()}
        stored = {key: inventory.stored_entry(row) for key, row in stored_rows.items()}
        from_settings = {entry.key: entry for entry in inventory.settings_entries()}
        rows = []
        for key in sorted(stored.keys() | from_settings.keys()):
            entry = stored.get(key) or from_settings[key]
            source = entry.source
            if key in stored and key in from_settings:
                source = f"database over {from_settings[key].source}"
            description = entry.problem or ", ".join(
                filter(None, [entry.summary, _token_state(key, stored_rows.get(key))])
            )
            rows.append((key, source, description))
        if not rows:
            self.stdout.write(
                _("No email hosts. Add one in the admin or to EMAIL_HOSTS.")
            )
            return
        widths = [max(len(row[column]) for row in rows) for column in (0, 1)]
        for key, source, description in rows:
            self.stdout.write(f"{key:{widths[0]}}  {source:{widths[1]}}  {description}")


def _token_state(key, row):
    """Return the OAuth2 host's token state, or "" (a password, or broken)."""
    try:
        host = hosts.from_row(row) if row is not None else hosts.from_settings(key)
    except ImproperlyConfigured:
        return ""
    return oauth2_state.describe(key, host.transport) if host else ""
