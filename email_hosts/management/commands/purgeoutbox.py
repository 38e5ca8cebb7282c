from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts.outbox.operations import purge


class Command(BaseCommand):
    help = gettext_lazy(
        "Delete sent and cancelled outbox messages older than"
        " EMAIL_HOSTS_OUTBOX['RETENTION_DAYS']. Failed and uncertain ones stay"
        " until someone decides about them."
    )

    def handle(self, *args, **options):
        deleted = purge()
        self.stdout.write(_("Deleted %(count)d outbox messages.") % {"count": deleted})
