from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts.outbox.delivery import deliver_due


class Command(BaseCommand):
    help = gettext_lazy(
        "Deliver every outbox message that is due, once, without a task"
        " worker: for cron, or to drain the outbox by hand."
    )

    def handle(self, *args, **options):
        sent = deliver_due()
        self.stdout.write(_("Sent %(count)d outbox messages.") % {"count": sent})
