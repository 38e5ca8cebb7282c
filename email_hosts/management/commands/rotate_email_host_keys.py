from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts.rotation import rotate_keys


class Command(BaseCommand):
    help = gettext_lazy(
        "Re-encrypt every stored email host with the first key in FERNET_KEYS"
        " (or SECRET_KEY), after adding a new key in front."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_lazy("Report what would change; change nothing."),
        )

    def handle(self, *args, dry_run, **options):
        rotation = rotate_keys(dry_run=dry_run)
        counts = {
            "changed": len(rotation.reencrypted),
            "current": len(rotation.current),
        }
        if dry_run:
            report = _(
                "Would re-encrypt %(changed)d host(s); %(current)d already used the"
                " current key."
            )
        else:
            report = _(
                "Re-encrypted %(changed)d host(s); %(current)d already used the current key."
            )
        self.stdout.write(report % counts)
        if rotation.undecryptable:
            raise CommandError(
                _(
                    "No key decrypts %(count)d host(s), left untouched: %(keys)s. Add"
                    " the key they were encrypted with to FERNET_KEYS and run this"
                    " again, or enter them again in the admin."
                )
                % {
                    "count": len(rotation.undecryptable),
                    "keys": ", ".join(rotation.undecryptable),
                }
            )
