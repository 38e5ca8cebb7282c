"""
Check a host's relay, or send it a test email, and say in plain words what
went wrong. Used by the admin; no message ever contains a password.
"""

import dataclasses
import smtplib
from concurrent.futures import ThreadPoolExecutor, wait

from django import db
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf, hosts
from email_hosts.backends import backend_for, get_connection
from email_hosts.hosts import status
from email_hosts.oauth2 import tokens
from email_hosts.smtp.connections import is_ours
from email_hosts.smtp.failures import explain, is_transient


#: No check waits longer than this, whatever the host's own timeout.
TIMEOUT_CAP = 15
#: Checks of several hosts run at once, this many at most, and the whole
#: batch answers within TIMEOUT_CAP however many hosts there are.
MAX_AT_ONCE = 8

TEST_SUBJECT = "Test email through the email host {key!r}"
TEST_BODY = (
    "This test email was sent from the Django admin through the email host"
    " {key!r}: {summary}. If you read this, the host works."
)


@dataclasses.dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    #: What to keep as the host's status: (works, reason), or None when no
    #: connection was tried (a host configured wrongly).
    status: tuple | None = dataclasses.field(default=None, compare=False)


def _bounded(host):
    timeout = min(host.transport.timeout or conf.default_timeout(), TIMEOUT_CAP)
    return dataclasses.replace(
        host, transport=dataclasses.replace(host.transport, timeout=timeout)
    )


@sensitive_variables()
def _attempt(key, make_backend, action, *, backups):
    """
    Run ``action`` on the backend ``make_backend()`` returns, opened, and
    return its outcome, or why it failed in one line, with what this means
    for mail sent through the host (``backups``: the keys that take over).
    """
    backend, opened = None, False
    try:
        backend = make_backend()
        # Kept by the caller (run_all(), keep_status()), not by the backend,
        # which may run in a thread without a database connection of its own.
        backend.keeps_status = False
        backend.open()
        opened = True
        with backend:
            return dataclasses.replace(action(backend), status=(True, ""))
    except ImproperlyConfigured as exc:
        return Outcome(ok=False, message=str(exc))
    except (OSError, smtplib.SMTPException) as exc:
        where = {
            "host": getattr(backend, "host", key),
            "port": getattr(backend, "port", None),
            "timeout": getattr(backend, "timeout", None) or conf.default_timeout(),
        }
        reason = explain(exc, **where)
        message = _("Email host %(key)r: %(reason)s.") % {"key": key, "reason": reason}
        if is_transient(exc):
            message = f"{message} {_meaning_for_mail(backups)}"
        if opened:  # The relay let us in; the message was its problem.
            return Outcome(ok=False, message=message, status=(True, ""))
        kept = status.failure_reason(exc, **where)
        return Outcome(ok=False, message=message, status=(False, kept))


def _meaning_for_mail(backups):
    if not backups:
        return _("It has no backup, so mail sent through it fails until this is fixed.")
    return ngettext(
        "When this happens while sending, its backup %(keys)s takes over.",
        "When this happens while sending, its backups %(keys)s take over, in"
        " this order.",
        len(backups),
    ) % {"keys": ", ".join(repr(key) for key in backups)}


def check_connection(host):
    """Connect, greet, secure and log in to the host's relay, then quit."""

    def action(backend):
        connection = getattr(backend, "connection", None)
        if is_ours(connection):  # A test's mock of smtplib was opened; enough.
            connection.ehlo_or_helo_if_needed()
        message = _("Email host %(key)r: the connection works.") % {"key": host.key}
        return Outcome(
            ok=True, message=" ".join(filter(None, [message, _login(backend)]))
        )

    return _attempt(
        host.key,
        lambda: backend_for(_bounded(host), reuse_connection=False),
        action,
        backups=host.backups,
    )


@sensitive_variables()
def _login(backend):
    """Say who an OAuth2 host logged in as, and for how long its token lasts."""
    oauth2 = getattr(backend, "oauth2", None)
    token = oauth2 and tokens.held(backend.alias, oauth2, backend.oauth2_destination)
    if not token:
        return ""
    minutes = token.minutes_left()
    return ngettext(
        "It logged in as %(user)s with an OAuth2 token from %(issuer)s, valid"
        " for %(minutes)s more minute.",
        "It logged in as %(user)s with an OAuth2 token from %(issuer)s, valid"
        " for %(minutes)s more minutes.",
        minutes,
    ) % {"user": backend.username, "issuer": oauth2.token_host, "minutes": minutes}


def send_test_email(host, recipient):
    """Send a fixed test email through the host to ``recipient`` only."""

    def action(backend):
        message = EmailMessage(
            subject=TEST_SUBJECT.format(key=host.key),
            body=TEST_BODY.format(key=host.key, summary=host.transport.summary()),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient],
        )
        backend.send_messages([message])
        return Outcome(
            ok=True,
            message=_("Email host %(key)r: sent a test email to %(recipient)s.")
            % {"key": host.key, "recipient": recipient},
        )

    return _attempt(
        host.key,
        lambda: backend_for(_bounded(host), reuse_connection=False),
        action,
        backups=host.backups,
    )


def send_through(key, message):
    """
    Send ``message`` through the host ``key`` as ``get_connection(key)``
    finds it, with the host's own timeout.
    """

    def action(backend):
        sent = backend.send_messages([message])
        return Outcome(
            ok=True,
            message=_("Sent %(count)d test email through %(key)r to %(addresses)s.")
            % {"count": sent, "key": key, "addresses": ", ".join(message.to)},
        )

    return _attempt(
        key,
        lambda: get_connection(key, fallback=False),
        action,
        backups=_backups_of(key),
    )


def _backups_of(key):
    try:
        host = hosts.find(key)
    except ImproperlyConfigured:
        return ()  # _attempt() reports the problem when it builds the backend.
    return host.backups if host else ()


def run_all(jobs, *, limit=TIMEOUT_CAP):
    """
    Run ``jobs``, pairs of a host key and a callable that returns an
    :class:`Outcome`, at once, and return their outcomes in order. A job
    without a result after ``limit`` seconds is reported as such; its thread
    ends by itself when the host's own (capped) timeout runs out.
    """
    language = translation.get_language()

    def run(job):
        try:
            with translation.override(language):
                return job()
        finally:
            # A connected account's tokens are read from the database.
            db.connections.close_all()

    executor = ThreadPoolExecutor(max_workers=max(1, min(len(jobs), MAX_AT_ONCE)))
    futures = [executor.submit(run, job) for _key, job in jobs]
    done, _pending = wait(futures, timeout=limit)
    executor.shutdown(wait=False, cancel_futures=True)
    outcomes = [
        future.result()
        if future in done
        else Outcome(
            ok=False,
            message=_(
                "Email host %(key)r: no result within %(seconds)s seconds, while"
                " other hosts were checked too. Check it on its own."
            )
            % {"key": key, "seconds": limit},
        )
        for (key, _job), future in zip(jobs, futures, strict=True)
    ]
    # Here, not in the jobs: a test's transaction is visible in this
    # thread alone.
    for (key, _job), outcome in zip(jobs, outcomes, strict=True):
        keep_status(key, outcome)
    return outcomes


def keep_status(key, outcome):
    """Store what ``outcome`` found out about host ``key``'s relay, if anything."""
    if outcome.status is not None:
        ok, reason = outcome.status
        status.record(key, ok=ok, message=reason)
