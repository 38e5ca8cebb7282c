from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts import conf
from email_hosts.dsn import check_relay_allowed, render_error
from email_hosts.hosts import transport_from_dsn
from email_hosts.models import EmailHost


class Command(BaseCommand):
    help = gettext_lazy(
        "Copy the EMAIL_HOSTS setting into the database, where the admin can"
        " edit it. Existing hosts are kept unless --overwrite is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help=gettext_lazy(
                "Replace the DSN of hosts that already exist in the database."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_lazy("Report what would change; change nothing."),
        )

    def handle(self, *args, overwrite, dry_run, **options):
        created, updated, skipped, invalid = [], [], [], []
        with transaction.atomic():
            existing = {row.key: row for row in EmailHost.objects.select_for_update()}
            for key, dsn in sorted(conf.email_hosts().items()):
                try:
                    check_relay_allowed(
                        transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
                    )
                except ImproperlyConfigured as exc:
                    invalid.append(str(exc))
                    continue
                except ValidationError as exc:
                    # Settings may use any relay; stored hosts only allowed ones.
                    invalid.append(f"EMAIL_HOSTS[{key!r}]: {render_error(exc)}")
                    continue
                if key not in existing:
                    created.append(key)
                    if not dry_run:
                        EmailHost.objects.create(key=key, dsn=dsn)
                elif overwrite:
                    updated.append(key)
                    if not dry_run:
                        existing[key].dsn = dsn
                        existing[key].save(update_fields=["dsn", "updated_at"])
                else:
                    skipped.append(key)
        counts = {
            "created": len(created),
            "updated": len(updated),
            "skipped": len(skipped),
        }
        if dry_run:
            report = _(
                "Would import %(created)d new host(s), would overwrite %(updated)d,"
                " skipped %(skipped)d that exist"
            )
        else:
            report = _(
                "Imported %(created)d new host(s), overwrote %(updated)d, skipped"
                " %(skipped)d that exist"
            )
        hint = _(" (--overwrite replaces them).") if skipped else "."
        self.stdout.write(report % counts + hint)
        for key in skipped:
            self.stdout.write(
                _("  skipped %(key)s: already in the database") % {"key": key}
            )
        if invalid:
            raise CommandError(_("Not imported:") + "\n  " + "\n  ".join(invalid))
