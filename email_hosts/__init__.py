"""Several SMTP relays in one Django site."""

__version__ = "0.4.0.dev0"


def mailers(email_hosts, /):
    """
    Convert an ``EMAIL_HOSTS`` dictionary into ``MAILERS`` entries (Django 6.1).

    Call it in settings.py: ``MAILERS = {"default": ..., **mailers(EMAIL_HOSTS)}``.
    SMTP entries use ``EmailHostsBackend``, so a database row with the same
    key wins over them. Raise ``InvalidEmailHost`` naming the key for a bad
    DSN. Needs no settings, so settings.py can call it.

    Each entry is speckenv's ``django_mailer_url()``, as in 0.3, so that it
    stays what 0.3 returned; only new DSN parameters add options.
    """
    # Imported here to keep importing email_hosts in settings.py light.
    from speckenv_django import django_mailer_url  # noqa: PLC0415

    from email_hosts.backends import backend_path  # noqa: PLC0415
    from email_hosts.hosts import transport_from_dsn  # noqa: PLC0415

    entries = {}
    for key, dsn in email_hosts.items():
        transport = transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
        entry = django_mailer_url(dsn, backend=backend_path(transport))
        if transport.ssl_cafile:
            entry["OPTIONS"]["ssl_cafile"] = transport.ssl_cafile
        entries[key] = entry
    return entries
