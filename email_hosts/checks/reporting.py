"""Check that error reports hide the hosts' passwords."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from email_hosts import reporting
from email_hosts.checks.base import TAG


@checks.register(TAG)
def check_exception_reporter_filter(app_configs, **kwargs):
    """Warn that error reports would show ``EMAIL_HOSTS`` passwords (W006)."""
    try:
        shown = reporting.configured_filter_shows_passwords()
    except ImproperlyConfigured:
        return []  # E002 reports it.
    if not shown:
        return []
    return [
        checks.Warning(
            f"The exception reporter filter {settings.DEFAULT_EXCEPTION_REPORTER_FILTER}"
            " shows the passwords in EMAIL_HOSTS in error reports (the debug page"
            " and AdminEmailHandler mails).",
            hint="Set DEFAULT_EXCEPTION_REPORTER_FILTER ="
            " 'email_hosts.reporting.ExceptionReporterFilter', or a subclass of it.",
            id="email_hosts.W006",
        )
    ]


@checks.register(TAG)
def check_exception_reporter(app_configs, **kwargs):
    """
    Warn that error reports still show URL passwords in the request's URL,
    its GET parameters and exception messages, which no filter sees (W013).
    """
    if not reporting.masks_with_filter_alone():
        return []
    return [
        checks.Warning(
            f"DEFAULT_EXCEPTION_REPORTER_FILTER masks passwords in error"
            f" reports, but {settings.DEFAULT_EXCEPTION_REPORTER} shows the"
            f" request's URL, its GET parameters and exception messages as"
            f" they are, passwords in URLs included.",
            hint="Set DEFAULT_EXCEPTION_REPORTER ="
            " 'email_hosts.reporting.ExceptionReporter', or a subclass of it.",
            id="email_hosts.W013",
        )
    ]
