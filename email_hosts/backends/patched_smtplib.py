"""Tell whether a test has patched what Django's SMTP backend connects with."""

import smtplib

from django.core.mail.backends import smtp

from email_hosts.smtp import connections


#: Django's connection_class as this module found it on Django's backend.
_DJANGO_CONNECTION_CLASS = vars(smtp.EmailBackend).get("connection_class")


def django_connection_class_patched():
    return vars(smtp.EmailBackend).get("connection_class") is not (
        _DJANGO_CONNECTION_CLASS
    )


def smtp_patched_by_a_test():
    """
    Return whether a test has patched what Django's SMTP backend connects
    with: smtplib's classes or their methods, the name ``smtplib`` in
    Django's module, or its backend's ``connection_class``. Connections
    are then made as Django's backend makes them, never kept for reuse.
    """
    return (
        django_connection_class_patched()
        or smtp.smtplib is not smtplib
        or connections.smtplib_patched()
    )
