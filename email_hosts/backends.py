"""Mail backends that send through a named email host, and ``get_connection``."""

import copy
import logging

from django.conf import settings
from django.core import mail
from django.core.mail.backends import console, dummy, locmem, smtp
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf, hosts
from email_hosts.exceptions import EmailHostDoesNotExist, InvalidEmailHost


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


class _DefaultFromMixin:
    """Send messages without a sender of their own from the host's sender."""

    def __init__(self, *args, default_from_email="", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_from_email = default_from_email
        # Django < 6.1 ignores alias; keep it for introspection everywhere.
        self.alias = kwargs.get("alias")

    def _with_default_sender(self, message):
        if (
            not self.default_from_email
            or message.from_email != settings.DEFAULT_FROM_EMAIL
        ):
            return message
        # A copy, so that the caller's message is not changed for other hosts.
        message = copy.copy(message)
        message.from_email = self.default_from_email
        return message

    # Hides every frame below, smtplib's login() included, from error reports.
    @sensitive_variables()
    def send_messages(self, email_messages):
        return super().send_messages(
            [self._with_default_sender(message) for message in email_messages]
        )


def _invalid_mailer(alias, message):
    if invalid_mailer := getattr(mail, "InvalidMailer", None):
        return invalid_mailer(message, alias=alias)
    # Django < 6.1
    return InvalidEmailHost(message, source="MAILERS", key=alias)


class EmailHostsBackend(_DefaultFromMixin, smtp.EmailBackend):
    """
    Django's SMTP backend with a default sender per host.

    As the ``BACKEND`` of a ``MAILERS`` entry (Django 6.1), it serves the
    database row whose key is the entry's alias, and the entry's ``OPTIONS``
    only while no such row exists.
    """

    @sensitive_variables()
    def __init__(
        self, *args, alias=None, default_from_email="", _resolved=False, **options
    ):
        if alias is not None and not _resolved:
            options, default_from_email = self._mailer_options(
                alias, options, default_from_email
            )
        if alias is not None:
            # Only then: Django 6.1 warns about direct construction without one.
            options["alias"] = alias
        super().__init__(*args, default_from_email=default_from_email, **options)

    @sensitive_variables()
    def open(self):
        return super().open()

    @staticmethod
    @sensitive_variables()
    def _mailer_options(alias, options, default_from_email):
        if host := hosts.from_database(alias):
            if not host.transport.is_smtp:
                raise _invalid_mailer(
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
            raise _invalid_mailer(
                alias,
                f"No email host {alias!r} is stored in the database, and OPTIONS"
                f" define no 'host'. Add the host in the admin, or give OPTIONS.",
            )
        if options.get("timeout") is None:
            options = options | {"timeout": conf.default_timeout()}
        return options, default_from_email


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


def backend_for(host):
    """Return a backend for a resolved :class:`~email_hosts.hosts.Host`."""
    transport = host.transport
    if transport.is_smtp:
        return EmailHostsBackend(
            alias=host.key,
            default_from_email=host.default_from,
            _resolved=True,
            **transport.smtp_options(default_timeout=conf.default_timeout()),
        )
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
