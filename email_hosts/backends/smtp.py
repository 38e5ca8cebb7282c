"""EmailHostsBackend: Django's SMTP backend, sending through one email host."""

import functools
import smtplib
import threading

from django.core.mail.backends import smtp
from django.utils import deprecation
from django.utils.functional import cached_property
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.backends import mailer_options
from email_hosts.backends.default_sender import DefaultFromMixin
from email_hosts.backends.kept_connections import KeptConnectionMixin, usage_of
from email_hosts.backends.patched_smtplib import (
    django_connection_class_patched,
    smtp_patched_by_a_test,
)
from email_hosts.dsn.transport import security_name
from email_hosts.hosts import status
from email_hosts.oauth2 import tokens
from email_hosts.oauth2.binding import Destination
from email_hosts.oauth2.sasl import OAuth2Login
from email_hosts.smtp import connections, failures, pool, tls
from email_hosts.smtp.size_limit import MessageTooBig


class EmailHostsBackend(DefaultFromMixin, KeptConnectionMixin, smtp.EmailBackend):
    """
    Django's SMTP backend with a default sender per host.

    As the ``BACKEND`` of a ``MAILERS`` entry (Django 6.1), it serves the
    database row whose key is the entry's alias, and the entry's ``OPTIONS``
    only while no such row exists. It looks the row up when it first sends
    or opens, never when it is built, as Django's backends do: so it can be
    built in an async view or a ``SimpleTestCase``.

    ``ssl_cafile`` names a CA bundle to trust for this relay instead of the
    system's; ``ssl_certfile`` and ``ssl_keyfile`` a client certificate.
    The relay's certificate and host name are always verified.

    A backend with an alias keeps its logged-in connection open for the next
    send through the same host (``EMAIL_HOSTS_CONNECTION_REUSE``), unless
    ``reuse_connection`` is false, and keeps whether the relay let it in as
    the host's status, unless ``keeps_status`` is false.
    """

    keeps_status = True

    @sensitive_variables()
    def __init__(
        self,
        *args,
        alias=None,
        default_from_email="",
        ssl_cafile="",
        reuse_connection=True,
        **options,
    ):
        # The entry's own options, until _resolve() asks the database.
        self._entry = None
        if alias is not None:
            if conf.app_installed():
                self._entry = (dict(options), default_from_email, ssl_cafile)
                self._resolve_lock = threading.Lock()
                # Django 6.1 refuses an entry without a host; a stored row
                # may provide it, so that question waits for _resolve() too.
                options.setdefault("host", "")
            else:
                # No stored hosts to ask for: the entry as Django builds it.
                options, default_from_email = mailer_options.resolve(
                    alias, options, default_from_email
                )
        # Django 6.1 warns that an EmailBackend was built directly when the
        # caller of its __init__ is outside Django, which for a subclass is
        # always the subclass; an explicit alias=None keeps it from asking,
        # and this backend asks about its own caller instead.
        options["alias"] = alias
        if alias is None:
            _warn_if_built_directly()
        self.ssl_cafile = options.pop("ssl_cafile", ssl_cafile)
        self.oauth2 = options.pop("oauth2", None)
        self.reuse_connection = reuse_connection
        super().__init__(*args, default_from_email=default_from_email, **options)

    @classmethod
    @sensitive_variables()
    def for_host(cls, host, *, reuse_connection=True):
        """
        Return a backend for a resolved SMTP host: what the constructor
        builds for it, without passing a dozen options through three
        constructors, which every first resolve of a host would pay for.
        """
        options = host.transport.smtp_options(default_timeout=conf.default_timeout())
        backend = cls.__new__(cls)
        backend._entry = None
        backend.ssl_cafile = options.pop("ssl_cafile", "")
        backend.oauth2 = options.pop("oauth2", None)
        backend.reuse_connection = reuse_connection
        smtp.EmailBackend.__init__(backend, alias=host.key, **options)
        backend.default_from_email = host.default_from
        backend.alias = host.key
        return backend

    @sensitive_variables()
    def _resolve(self):
        """
        Apply the stored host of this ``MAILERS`` alias, or else the entry's
        ``OPTIONS``, once, before the first connection.
        """
        if self._entry is None:
            return
        with self._resolve_lock:
            if self._entry is None:
                return
            options, default_from_email = mailer_options.resolve(
                self.alias, self._entry[0], self._entry[1]
            )
            self.ssl_cafile = options.pop("ssl_cafile", self._entry[2])
            self.oauth2 = options.pop("oauth2", None)
            # Django's constructor checks the options; a backend of its own
            # keeps this one's state (a connection a caller set) untouched.
            checked = smtp.EmailBackend(alias=self.alias, **options)
            for name in mailer_options.SMTP_OPTIONS:
                setattr(self, name, getattr(checked, name))
            self.default_from_email = default_from_email
            self._entry = None

    @sensitive_variables()
    def send_messages(self, email_messages):
        self._resolve()  # First: the stored row may bring a default sender.
        return super().send_messages(email_messages)

    @cached_property
    def ssl_context(self):
        return tls.client_context(
            cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
        )

    @property
    def connection_class(self):
        if django_connection_class_patched():
            return super().connection_class  # Whatever a test put there.
        if smtp_patched_by_a_test():
            # What Django's backend connects with: a test's mock gets it all.
            return smtp.smtplib.SMTP_SSL if self.use_ssl else smtp.smtplib.SMTP
        connection_class = connections.SMTP_SSL if self.use_ssl else connections.SMTP
        if self.oauth2 is None:
            return connection_class
        if self.oauth2.delegated:
            # Connected accounts live in a model: not loaded at import time.
            from email_hosts.oauth2 import accounts  # noqa: PLC0415

            token_source = accounts.access_token
        else:
            token_source = tokens.access_token
        login = OAuth2Login(
            key=self.alias,
            oauth2=self.oauth2,
            destination=self.oauth2_destination,
            timeout=self.timeout,
            token_source=token_source,
        )
        return functools.partial(connection_class, oauth2_login=login)

    @property
    @sensitive_variables()
    def oauth2_destination(self):
        """Return where this backend's OAuth2 tokens go, or None without OAuth2."""
        if self.oauth2 is None:
            return None
        return Destination.of_connection(
            host=self.host,
            port=self.port,
            security=security_name(use_tls=self.use_tls, use_ssl=self.use_ssl),
            username=self.username,
            oauth2=self.oauth2,
            client_secret=self.password,
        )

    @sensitive_variables()
    def open(self):
        self._resolve()
        if self.connection is None and (kept := self._kept_connection()):
            self.connection = kept
            return True
        return self._open_new()

    @sensitive_variables()
    def _open_new(self):
        # Django's open() hides errors from a silent backend; the status of
        # the host needs them, so they are hidden here instead.
        fail_silently, self.fail_silently = self.fail_silently, False
        password = self.password
        if self.oauth2 is not None and smtp_patched_by_a_test():
            # Django's open() would log in with the client secret as the
            # password, to a real relay if only a method is patched: never.
            self.password = ""
        try:
            opened = super().open()
        except BaseException as exc:
            # Django keeps a connection whose STARTTLS or login failed until
            # the next open() or close(), which a failed send never calls.
            if (partial := getattr(self, "_partial_connection", None)) is not None:
                partial.close()
                self._partial_connection = None
            if not isinstance(exc, OSError):
                raise
            self._record_status(exc)
            if fail_silently:
                return None
            raise
        finally:
            self.fail_silently, self.password = fail_silently, password
        if opened and connections.is_ours(self.connection):
            self.connection.email_host_key = self.alias
            # Only ours are kept for reuse: never a test's mock.
            self.connection.email_hosts_usage = pool.Usage(
                fingerprint=self._fingerprint()
            )
        if opened:
            self._record_status(None)
        return opened

    def _record_status(self, exc):
        """Keep whether this host's relay let us in, for the admin's list."""
        if self.alias is None or not self.keeps_status:
            return
        if exc is None:
            status.record_send(self.alias, ok=True, message="")
            return
        reason = status.failure_reason(
            exc, host=self.host, port=self.port, timeout=self.timeout
        )
        status.record_send(self.alias, ok=False, message=reason)

    @sensitive_variables()
    def send_bytes(self, from_email, recipients, message, *, before_message=None):
        """
        Send ``message`` as rendered (bytes) on the open connection, and
        return the recipients the relay refused, as smtplib's ``sendmail()``
        does; it raises ``SMTPRecipientsRefused`` if the relay refused all.
        Call ``before_message()`` before the message itself leaves, while the
        relay answers the envelope where it pipelines; if it raises, the
        message is not sent (and a pipelining connection closes, the only way
        to abandon a transaction whose DATA the relay may have accepted).

        Raise ``MessageTooBig`` if the relay announced a SIZE limit below the
        message's size (nothing is sent), or refused the message for its size.
        """
        try:
            refused = self._reconnecting(
                lambda: self._sendmail(from_email, recipients, message, before_message)
            )
        except smtplib.SMTPResponseException as exc:
            if not failures.is_too_big(exc):
                raise
            raise MessageTooBig.refused(len(message), exc) from exc
        if usage := usage_of(self.connection):
            usage.messages += 1
            usage.clean = True
        return refused

    @sensitive_variables()
    def _sendmail(self, from_email, recipients, message, before_message):
        if connections.is_ours(self.connection):
            return self.connection.sendmail(
                from_email, recipients, message, before_message=before_message
            )
        # smtplib's own, a test's mock: the call Django's backend makes.
        if before_message is not None:
            before_message()
        return self.connection.sendmail(from_email, recipients, message)


def _warn_if_built_directly():
    """
    Warn as Django 6.1 does when code outside Django builds an SMTP backend
    without an alias, skipping this module's frames (and the decorator's).
    """
    # RemovedInDjango2028Warning: Django < 6.1 has no such deprecation.
    warn = getattr(deprecation, "warn_about_external_use", None)
    if warn is not None:
        warn(
            "Directly creating EmailBackend instances is deprecated. Use"
            " mail.mailers instead.",
            deprecation.RemovedInDjango2028Warning,
            skip_name_prefixes=(f"{__name__}.", "django.views.decorators.debug."),
        )
