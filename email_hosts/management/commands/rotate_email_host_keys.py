from django.core.management.base import BaseCommand, CommandError

from email_hosts.rotation import rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored email host with the first key in FERNET_KEYS"
        " (or SECRET_KEY), after adding a new key in front."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change; change nothing.",
        )

    def handle(self, *args, dry_run, **options):
        rotation = rotate_keys(dry_run=dry_run)
        verb = "Would re-encrypt" if dry_run else "Re-encrypted"
        self.stdout.write(
            f"{verb} {len(rotation.reencrypted)} host(s);"
            f" {len(rotation.current)} already used the current key."
        )
        if rotation.undecryptable:
            raise CommandError(
                f"No key decrypts {len(rotation.undecryptable)} host(s), left untouched:"
                f" {', '.join(rotation.undecryptable)}. Add the key they were"
                f" encrypted with to FERNET_KEYS and run this again, or enter"
                f" them again in the admin."
            )
