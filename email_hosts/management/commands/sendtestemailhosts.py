import functools
import socket

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from email_hosts import diagnostics, hosts
from email_hosts.exceptions import EmailHostDoesNotExist, InvalidEmailHost


class Command(BaseCommand):
    help = gettext_lazy(
        "Send a test email through an email host, from the database or settings:"
        " KEY ADDR [ADDR ...], or --all ADDR [ADDR ...]. With --check, connect"
        " and log in to KEY [KEY ...] or --all without sending."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "arguments",
            nargs="*",
            metavar="KEY|ADDR",
            help=gettext_lazy(
                "The host key, then the addresses; only addresses with --all;"
                " only keys with --check."
            ),
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="every_host",
            help=gettext_lazy("Use every email host."),
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help=gettext_lazy(
                "Connect, secure and log in without sending; print one line per"
                " host and fail if any host fails."
            ),
        )

    def handle(self, *args, arguments, every_host, check, **options):
        if check:
            self._check(arguments, every_host=every_host)
        elif every_host:
            self._send(hosts.all_keys(), arguments)
        else:
            if len(arguments) < 2:
                raise CommandError(
                    "Give a host key and at least one address, or --all."
                )
            self._send(arguments[:1], arguments[1:])

    def _send(self, keys, addresses):
        if not addresses:
            raise CommandError(
                _("Give at least one address to send the test email to.")
            )
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise CommandError(
                    _("%(address)r is not an email address such as you@example.com.")
                    % {"address": address}
                ) from None
        # One host's failure does not stop the others; each gets a line.
        self._report(
            [self._send_one(key, addresses) for key in keys],
            _("%(failed)d of %(total)d host(s) failed to send the test email."),
        )

    @staticmethod
    def _send_one(key, addresses):
        outcome = diagnostics.send_through(
            key,
            EmailMessage(
                # 0.3's subject and body, with the host it went through.
                subject=f"Test email from {socket.gethostname()} on {timezone.now()}"
                f" through the email host {key!r}",
                body="If you're reading this, it was successful.\n\n"
                f"It was sent through the email host {key!r}.",
                to=addresses,
            ),
        )
        diagnostics.keep_status(key, outcome)
        return outcome

    def _check(self, keys, *, every_host):
        keys = hosts.all_keys() if every_host else keys
        if not keys:
            raise CommandError(_("Give the keys of the hosts to check, or --all."))
        # Hosts are looked up here, checked at once in threads of their own.
        self._report(
            diagnostics.run_all([(key, self._check_job(key)) for key in keys]),
            _("%(failed)d of %(total)d host(s) failed the check."),
        )

    def _report(self, outcomes, summary):
        """Print a line per host; fail at the end if any host failed."""
        for outcome in outcomes:
            self.stdout.write(
                f"{'ok    ' if outcome.ok else 'FAILED'}  {outcome.message}"
            )
        if failed := sum(not outcome.ok for outcome in outcomes):
            raise CommandError(summary % {"failed": failed, "total": len(outcomes)})

    @staticmethod
    def _check_job(key):
        """Return a callable that checks host ``key``, or says why it cannot."""
        try:
            host = hosts.find(key)
        except InvalidEmailHost as exc:
            outcome = diagnostics.Outcome(ok=False, message=str(exc))
        else:
            if host is not None:
                return functools.partial(diagnostics.check_connection, host)
            outcome = diagnostics.Outcome(
                ok=False, message=str(EmailHostDoesNotExist(key))
            )
        return lambda: outcome
