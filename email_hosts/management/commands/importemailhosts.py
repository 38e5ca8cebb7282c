from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from email_hosts import conf
from email_hosts.hosts import transport_from_dsn
from email_hosts.models import EmailHost


class Command(BaseCommand):
    help = (
        "Copy the EMAIL_HOSTS setting into the database, where the admin can"
        " edit it. Existing hosts are kept unless --overwrite is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Replace the DSN of hosts that already exist in the database.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change; change nothing.",
        )

    def handle(self, *args, overwrite, dry_run, **options):
        created, updated, skipped, invalid = [], [], [], []
        with transaction.atomic():
            existing = {row.key: row for row in EmailHost.objects.select_for_update()}
            for key, dsn in sorted(conf.email_hosts().items()):
                try:
                    transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
                except ImproperlyConfigured as exc:
                    invalid.append(str(exc))
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
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {len(created)} new host(s), {'would overwrite' if dry_run else 'overwrote'}"
            f" {len(updated)}, skipped {len(skipped)} that exist"
            + (" (--overwrite replaces them)." if skipped else ".")
        )
        for key in skipped:
            self.stdout.write(f"  skipped {key}: already in the database")
        if invalid:
            raise CommandError("Not imported:\n  " + "\n  ".join(invalid))
