"""
Mail backends that send through one named email host, and
``get_connection``. Routing by sender lives in :mod:`email_hosts.routing`.
"""

import copy
import functools
import logging
import os
import smtplib
import threading

from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends import console, dummy, locmem, smtp
from django.utils import deprecation
from django.utils.functional import cached_property
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf, connections, hosts, pool, status, tls
from email_hosts.exceptions import EmailHostDoesNotExist, invalid_mailer
from email_hosts.oauth2.binding import Destination
from email_hosts.oauth2.sasl import OAuth2Login
from email_hosts.transports import security_name


__all__ = ["EmailHostsBackend", "get_connection", "parse_conf"]

logger = logging.getLogger("email_hosts")


def parse_conf(settings):
    """
    Return SMTP backend options from a ``speckenv_django.django_email_url()``
    result. Kept from django-email-hosts 0.3.
    """
    return {
        "host": settings["EMAIL_HOST"],
        "port": settings["EMAIL_PORT"],
        "username": settings["EMAIL_HOST_USER"],
        "password": settings["EMAIL_HOST_PASSWORD"],
        "use_tls": settings["EMAIL_USE_TLS"],
        "use_ssl": settings["EMAIL_USE_SSL"],
        "timeout": settings["EMAIL_TIMEOUT"],
    }


def with_default_sender(message, sender):
    """
    Return ``message`` from ``sender`` if it has no sender of its own (its
    sender is ``DEFAULT_FROM_EMAIL``), as a copy, so that the caller's message
    is not changed for other hosts.
    """
    if not sender or message.from_email != settings.DEFAULT_FROM_EMAIL:
        return message
    message = copy.copy(message)
    message.from_email = sender
    return message


class _DefaultFromMixin:
    """Send messages without a sender of their own from the host's sender."""

    def __init__(self, *args, default_from_email="", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_from_email = default_from_email
        # Django < 6.1 ignores alias; keep it for introspection everywhere.
        self.alias = kwargs.get("alias")

    # Hides every frame below, smtplib's login() included, from error reports.
    @sensitive_variables()
    def send_messages(self, email_messages):
        return super().send_messages(
            [
                with_default_sender(message, self.default_from_email)
                for message in email_messages
            ]
        )


#: What a MAILERS entry's OPTIONS set on Django's SMTP backend.
_SMTP_OPTIONS = (
    "host",
    "port",
    "username",
    "password",
    "use_tls",
    "use_ssl",
    "timeout",
    "ssl_keyfile",
    "ssl_certfile",
)


class EmailHostsBackend(_DefaultFromMixin, smtp.EmailBackend):
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
                options, default_from_email = self._mailer_options(
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
            options, default_from_email = self._mailer_options(
                self.alias, self._entry[0], self._entry[1]
            )
            self.ssl_cafile = options.pop("ssl_cafile", self._entry[2])
            self.oauth2 = options.pop("oauth2", None)
            # Django's constructor checks the options; a backend of its own
            # keeps this one's state (a connection a caller set) untouched.
            checked = smtp.EmailBackend(alias=self.alias, **options)
            for name in _SMTP_OPTIONS:
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
        if _django_connection_class_patched():
            return super().connection_class  # Whatever a test put there.
        if _smtplib_patched():
            # What Django's backend connects with: a test's mock gets it all.
            return smtp.smtplib.SMTP_SSL if self.use_ssl else smtp.smtplib.SMTP
        connection_class = connections.SMTP_SSL if self.use_ssl else connections.SMTP
        if self.oauth2 is None:
            return connection_class
        login = OAuth2Login(
            key=self.alias,
            oauth2=self.oauth2,
            destination=self.oauth2_destination,
            timeout=self.timeout,
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
        if self.oauth2 is not None and _smtplib_patched():
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

    def close(self):
        connection = self.connection
        usage = _usage_of(connection)
        if usage is not None and self._reuses():
            if usage.pid != os.getpid():
                # Opened before a fork: the parent's session, not ours to end.
                self.connection = None
                return
            if pool.keep(self.alias, connection):
                self.connection = None
                return
        super().close()

    def _send(self, email_message):
        sent = self._reconnecting(
            lambda: super(EmailHostsBackend, self)._send(email_message)
        )
        if sent is None:
            return False  # fail_silently hid why.
        if usage := _usage_of(self.connection):
            usage.messages += sent
            usage.clean = sent or not email_message.recipients()
        return sent

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
        """
        refused = self._reconnecting(
            lambda: self._sendmail(from_email, recipients, message, before_message)
        )
        if usage := _usage_of(self.connection):
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

    def _reconnecting(self, send):
        """
        Return what ``send()`` returns, sending on this backend's connection.
        If that connection was a kept one the relay had closed, it failed
        before ``MAIL FROM`` was accepted: nothing left, so send again on a
        new connection, which cannot deliver the message twice. Return None
        if ``fail_silently`` hid why no new connection opened.
        """
        # A connection a caller set is not ours to count or keep.
        if usage := _usage_of(self.connection):
            usage.clean = False
        try:
            return send()
        except connections.KeptConnectionLost:
            logger.info(
                "Email host %r closed a kept connection; reconnecting.", self.alias
            )
            self.connection = None
            if not self._open_new():
                return None
            return self._reconnecting(send)

    def _reuses(self):
        return self.reuse_connection and self.alias is not None

    def _kept_connection(self):
        if not self._reuses() or _smtplib_patched():
            return None
        connection = pool.take(self.alias, self._fingerprint())
        if connection is not None:
            logger.debug("Email host %r: reusing a kept connection.", self.alias)
        return connection

    @sensitive_variables()
    def _fingerprint(self):
        return pool.fingerprint(
            self.host,
            self.port,
            self.username,
            self.password,
            self.use_tls,
            self.use_ssl,
            self.timeout,
            self.ssl_cafile,
            self.ssl_certfile,
            self.ssl_keyfile,
            self.oauth2,
        )

    @staticmethod
    @sensitive_variables()
    def _mailer_options(alias, options, default_from_email):
        if host := hosts.from_database(alias):
            if not host.transport.is_smtp:
                raise invalid_mailer(
                    alias,
                    f"The email host {alias!r} uses {host.transport.scheme}://,"
                    f" which EmailHostsBackend cannot send with. Use an smtp:// or"
                    f" submission:// DSN, or get_connection({alias!r}).",
                )
            return (
                host.transport.smtp_options(default_timeout=conf.default_timeout()),
                host.default_from,
            )
        if options.get("host") is None:
            # Django's own words first, so that tests of either read them.
            stored = (
                f" No email host {alias!r} is stored in the database either: add"
                f" it in the admin, or give OPTIONS a host."
                if conf.app_installed()
                else ""
            )
            raise invalid_mailer(alias, f"OPTIONS must define 'host'.{stored}")
        if options.get("timeout") is None and _names_a_settings_host(alias):
            # An entry of email_hosts.mailers(): it waits as its host would.
            options = options | {"timeout": conf.default_timeout()}
        return options, default_from_email


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


#: Django's connection_class as this module found it on Django's backend.
_DJANGO_CONNECTION_CLASS = vars(smtp.EmailBackend).get("connection_class")


def _django_connection_class_patched():
    return vars(smtp.EmailBackend).get("connection_class") is not (
        _DJANGO_CONNECTION_CLASS
    )


def _smtplib_patched():
    """
    Return whether a test has patched what Django's SMTP backend connects
    with: smtplib's classes or their methods, the name ``smtplib`` in
    Django's module, or its backend's ``connection_class``. Connections
    are then made as Django's backend makes them, never kept for reuse.
    """
    return (
        _django_connection_class_patched()
        or smtp.smtplib is not smtplib
        or connections.smtplib_patched()
    )


def _names_a_settings_host(alias):
    try:
        return alias in conf.email_hosts()
    except ImproperlyConfigured:
        return False  # E002 reports it; this entry is Django's alone.


def _usage_of(connection):
    """
    Return what a connection this package opened has done, or None for one a
    caller set, such as the mock in Django's own tests.
    """
    usage = getattr(connection, "email_hosts_usage", None)
    return usage if isinstance(usage, pool.Usage) else None


class _ConsoleBackend(_DefaultFromMixin, console.EmailBackend):
    pass


class _LocmemBackend(_DefaultFromMixin, locmem.EmailBackend):
    pass


class _DummyBackend(_DefaultFromMixin, dummy.EmailBackend):
    pass


_LOCAL_BACKENDS = {
    "console": _ConsoleBackend,
    "locmem": _LocmemBackend,
    "dummy": _DummyBackend,
}


def _backend_class(transport):
    return EmailHostsBackend if transport.is_smtp else _LOCAL_BACKENDS[transport.scheme]


def backend_path(transport):
    """Return the dotted path of the backend class that serves ``transport``."""
    backend_class = _backend_class(transport)
    return f"{backend_class.__module__}.{backend_class.__qualname__}"


def backend_for(host, *, reuse_connection=True):
    """
    Return a backend for a resolved :class:`~email_hosts.hosts.Host`; with
    ``reuse_connection`` false, one that always opens a new connection.
    """
    transport = host.transport
    if transport.is_smtp:
        return EmailHostsBackend.for_host(host, reuse_connection=reuse_connection)
    return _LOCAL_BACKENDS[transport.scheme](
        alias=host.key, default_from_email=host.default_from
    )


def _uses_email_hosts_backend(entry):
    return entry.get("BACKEND") == f"{__name__}.EmailHostsBackend"


def _default_backend():
    if hasattr(mail, "mailers"):
        return mail.mailers.default
    # Django < 6.1
    return mail.get_connection()


@sensitive_variables()
def get_connection(key, *, fallback=True):
    """
    Return a backend that sends through the host ``key``.

    Look in the database first, then in ``MAILERS`` (Django 6.1) and
    ``EMAIL_HOSTS``. For an unknown key, log a warning and return Django's
    default backend, or raise ``EmailHostDoesNotExist`` if ``fallback`` is
    false.
    """
    mailer = conf.mailers().get(key)
    if mailer is not None and _uses_email_hosts_backend(mailer):
        # Its constructor asks the database first, with the same one query.
        return mail.mailers[key]
    if host := hosts.from_database(key):
        return backend_for(host)
    if mailer is not None:
        return mail.mailers[key]
    if host := hosts.from_settings(key):
        return backend_for(host)
    if not fallback:
        raise EmailHostDoesNotExist(key)
    logger.warning(
        "No email host %r in the database or the settings; sending with"
        " Django's default backend instead.",
        key,
    )
    return _default_backend()
