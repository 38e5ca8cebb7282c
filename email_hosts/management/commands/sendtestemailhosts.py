import socket

from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from email_hosts.backends import get_connection
from email_hosts.exceptions import EmailHostDoesNotExist


class Command(BaseCommand):
    help = "Send a test email through one email host, from the database or settings."

    def add_arguments(self, parser):
        parser.add_argument("key", help="The key of the email host to send through.")
        parser.add_argument(
            "email", nargs="+", help="One or more addresses to send the test email to."
        )

    def handle(self, *args, key, email, **options):
        try:
            connection = get_connection(key, fallback=False)
        except EmailHostDoesNotExist as exc:
            raise CommandError(str(exc)) from None
        message = EmailMessage(
            subject=f"Test email from {socket.gethostname()} on {timezone.now()}",
            body="If you're reading this, it was successful.",
            to=email,
        )
        sent = connection.send_messages([message])
        self.stdout.write(
            f"Sent {sent} test email through {key!r} to {', '.join(email)}."
        )
