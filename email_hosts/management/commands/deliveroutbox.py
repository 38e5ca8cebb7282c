from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts.hosts import status
from email_hosts.outbox.delivery import deliver_due


class Command(BaseCommand):
    help = gettext_lazy(
        "Deliver every outbox message that is due, once, without a task"
        " worker: for cron, or to drain the outbox by hand. Hosts paused"
        " after a failure are tried again at once."
    )

    def handle(self, *args, **options):
        status.resume_all()  # Whoever runs it wants the mail out now.
        sent = deliver_due()
        self.stdout.write(_("Sent %(count)d outbox messages.") % {"count": sent})
