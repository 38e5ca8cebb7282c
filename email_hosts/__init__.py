"""Several SMTP relays in one Django site."""

__version__ = "0.4.0.dev0"


def mailers(email_hosts, /):
    """
    Convert an ``EMAIL_HOSTS`` dictionary into ``MAILERS`` entries (Django 6.1).

    Call it in settings.py: ``MAILERS = {"default": ..., **mailers(EMAIL_HOSTS)}``.
    Each entry uses ``EmailHostsBackend``, so a database row with the same key
    wins over it. Raise ``InvalidEmailHost`` naming the key for a bad DSN.
    """
    # Imported here to keep importing email_hosts in settings.py light.
    from email_hosts.backends import backend_path  # noqa: PLC0415
    from email_hosts.hosts import transport_from_dsn  # noqa: PLC0415

    entries = {}
    for key, dsn in email_hosts.items():
        transport = transport_from_dsn(dsn, source="EMAIL_HOSTS", key=key)
        options = (
            transport.smtp_options(default_timeout=None) if transport.is_smtp else {}
        )
        if transport.default_from_email:
            options["default_from_email"] = transport.default_from_email
        entries[key] = {"BACKEND": backend_path(transport), "OPTIONS": options}
    return entries
