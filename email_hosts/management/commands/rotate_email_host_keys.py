from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts.rotation import rotate_keys


#: Rows no key decrypts that an error names, per model, at most.
NAMED = 20


class Command(BaseCommand):
    help = gettext_lazy(
        "Re-encrypt everything django-email-hosts stores encrypted (hosts,"
        " connected accounts, outbox messages) with the first key in"
        " FERNET_KEYS (or SECRET_KEY), after adding a new key in front."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_lazy("Report what would change; change nothing."),
        )

    def handle(self, *args, dry_run, **options):
        rotations = rotate_keys(dry_run=dry_run)
        for rotation in rotations:
            counts = {
                "model": rotation.model._meta.verbose_name_plural,
                "changed": rotation.reencrypted,
                "current": rotation.current,
            }
            if dry_run:
                report = _(
                    "%(model)s: would re-encrypt %(changed)d, %(current)d already"
                    " use the current key."
                )
            else:
                report = _(
                    "%(model)s: re-encrypted %(changed)d, %(current)d already use"
                    " the current key."
                )
            self.stdout.write(report % counts)
        if problems := [_undecryptable(r) for r in rotations if r.undecryptable]:
            raise CommandError(
                _(
                    "No key decrypts %(rows)s, left untouched. Add the key they were"
                    " encrypted with to FERNET_KEYS and run this again, or enter the"
                    " hosts again in the admin."
                )
                % {"rows": "; ".join(problems)}
            )


def _undecryptable(rotation):
    labels = sorted(str(label) for label in rotation.undecryptable)
    named = ", ".join(labels[:NAMED]) + (" …" if len(labels) > NAMED else "")
    return f"{len(labels)} {rotation.model._meta.verbose_name_plural} ({named})"
