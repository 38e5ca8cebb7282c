"""
Read what an ``EmailHostsBackend`` entry of ``MAILERS`` sends with: the
stored host of its alias, or else the entry's ``OPTIONS``.
"""

from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf, hosts
from email_hosts.exceptions import invalid_mailer


#: What a MAILERS entry's OPTIONS set on Django's SMTP backend.
SMTP_OPTIONS = (
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


@sensitive_variables()
def resolve(alias, options, default_from_email):
    """
    Return the SMTP options and the default sender of the ``MAILERS`` entry
    ``alias``: those of its stored host if there is one, else ``options``
    and ``default_from_email``, the entry's own.
    """
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


def _names_a_settings_host(alias):
    try:
        return alias in conf.email_hosts()
    except ImproperlyConfigured:
        return False  # E002 reports it; this entry is Django's alone.
