"""
Check a host's relay, or send it a test email, and say in plain words what
went wrong. Used by the admin; no message ever contains a password.
"""

import dataclasses
import smtplib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.backends import backend_for
from email_hosts.failures import explain


#: No check waits longer than this, whatever the host's own timeout.
TIMEOUT_CAP = 15

TEST_SUBJECT = "Test email from django-email-hosts"
TEST_BODY = (
    "This test email was sent from the Django admin. If you read this, the host works."
)


@dataclasses.dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def _bounded(host):
    timeout = min(host.transport.timeout or conf.default_timeout(), TIMEOUT_CAP)
    return dataclasses.replace(
        host, transport=dataclasses.replace(host.transport, timeout=timeout)
    )


@sensitive_variables()
def _attempt(host, action):
    bounded = _bounded(host)
    try:
        with backend_for(bounded) as backend:
            return action(backend)
    except ImproperlyConfigured as exc:
        return Outcome(ok=False, message=str(exc))
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(
            ok=False,
            message=_("Email host %(key)r: %(reason)s.")
            % {
                "key": host.key,
                "reason": explain(exc, timeout=bounded.transport.timeout),
            },
        )


def check_connection(host):
    """Connect, greet, secure and log in to the host's relay, then quit."""

    def action(backend):
        if connection := getattr(backend, "connection", None):
            connection.ehlo_or_helo_if_needed()
        return Outcome(
            ok=True,
            message=_("Email host %(key)r: the connection works.") % {"key": host.key},
        )

    return _attempt(host, action)


def send_test_email(host, recipient):
    """Send a fixed test email through the host to ``recipient`` only."""

    def action(backend):
        message = EmailMessage(
            subject=TEST_SUBJECT,
            body=TEST_BODY,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient],
        )
        backend.send_messages([message])
        return Outcome(
            ok=True,
            message=_("Email host %(key)r: sent a test email to %(recipient)s.")
            % {"key": host.key, "recipient": recipient},
        )

    return _attempt(host, action)
