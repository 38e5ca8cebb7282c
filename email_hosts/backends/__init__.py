"""
Mail backends that send through one named email host, and
``get_connection``. Routing by sender lives in :mod:`email_hosts.routing`.

Users' settings name the backends by their paths here (``mailers()`` has
written them since 0.3): ``EmailHostsBackend`` from ``smtp.py`` and the
console, locmem and dummy backends from ``local.py``.
"""

import logging

from django.core import mail
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf, hosts
from email_hosts.backends.local import LOCAL_BACKENDS
from email_hosts.backends.local import _ConsoleBackend as _ConsoleBackend
from email_hosts.backends.local import _DummyBackend as _DummyBackend
from email_hosts.backends.local import _LocmemBackend as _LocmemBackend
from email_hosts.backends.smtp import EmailHostsBackend
from email_hosts.exceptions import EmailHostDoesNotExist


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


def _backend_class(transport):
    return EmailHostsBackend if transport.is_smtp else LOCAL_BACKENDS[transport.scheme]


def backend_path(transport):
    """
    Return the dotted path of the backend class that serves ``transport``,
    through this package, where users' settings have named it since 0.3.
    """
    return f"{__name__}.{_backend_class(transport).__qualname__}"


def backend_for(host, *, reuse_connection=True):
    """
    Return a backend for a resolved :class:`~email_hosts.hosts.Host`; with
    ``reuse_connection`` false, one that always opens a new connection.
    """
    transport = host.transport
    if transport.is_smtp:
        return EmailHostsBackend.for_host(host, reuse_connection=reuse_connection)
    return LOCAL_BACKENDS[transport.scheme](
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
