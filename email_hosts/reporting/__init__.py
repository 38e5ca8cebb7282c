"""
Keep relay passwords out of Django's error reports: the debug page and the
mails of ``AdminEmailHandler``.

Django hides settings whose names contain PASS, KEY, SECRET or TOKEN, but
``EMAIL_HOSTS`` is none of these, and its DSNs carry passwords. Use::

    DEFAULT_EXCEPTION_REPORTER_FILTER = "email_hosts.reporting.ExceptionReporterFilter"
    DEFAULT_EXCEPTION_REPORTER = "email_hosts.reporting.ExceptionReporter"

and, for log messages that quote a URL, the ``MaskURLPasswords`` filter.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string
from django.views import debug
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.dsn import parse_dsn
from email_hosts.reporting.masking import HTML, mask_text, mask_value


__all__ = [
    "ExceptionReporter",
    "ExceptionReporterFilter",
    "MaskURLPasswords",
    "configured_filter_shows_passwords",
    "mask_url_password",
    "masks_with_filter_alone",
]


class MaskURLPasswords(logging.Filter):
    """
    A logging filter that masks URL passwords in a record's message, for
    handlers that show it apart from the report: the subject and first
    line of ``AdminEmailHandler``'s mails, or any log file.
    """

    @sensitive_variables()
    def filter(self, record):
        message = record.getMessage()
        masked = mask_text(message, SUBSTITUTE)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


#: What a masked password reads as, as in Django's reports.
SUBSTITUTE = debug.SafeExceptionReporterFilter.cleansed_substitute


@sensitive_variables()
def mask_url_password(text, substitute):
    """Return ``text`` with the password of every URL in it masked."""
    return mask_text(text, substitute)


class ExceptionReporterFilter(debug.SafeExceptionReporterFilter):
    """
    Django's safe filter, which also masks the password of every URL
    (``scheme://user:password@host``, such as a DSN) in the settings, the
    local variables of every frame, the request's headers and query string
    (``META``), cookies and POST parameters, whatever holds it: text, bytes,
    containers or any value's ``repr()``. It honours ``sensitive_variables``
    and ``sensitive_post_parameters`` with ``DEBUG`` on too, because the
    functions that hold relay passwords rely on them. It never raises: a
    value it cannot show is replaced by the substitute.
    """

    def is_active(self, request):
        return True

    def cleanse_setting(self, key, value):
        # Also every value of request.META and request.COOKIES.
        try:
            value = super().cleanse_setting(key, value)
        except Exception:  # noqa: BLE001 -- a report must never fail.
            return self.cleansed_substitute
        return mask_value(value, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, mask_value(value, self.cleansed_substitute))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not parameters:
            return parameters
        masked = parameters.copy()
        for name, values in parameters.lists():
            masked.setlist(
                name, [mask_value(value, self.cleansed_substitute) for value in values]
            )
        return masked


class ExceptionReporter(debug.ExceptionReporter):
    """
    Django's exception reporter, whose reports mask the password of every
    URL in them also where no filter is asked: the request's URL and GET
    parameters, and the exception's message.
    """

    def get_traceback_html(self):
        return mask_text(
            super().get_traceback_html(), self.filter.cleansed_substitute, tokens=HTML
        )

    def get_traceback_text(self):
        return mask_text(super().get_traceback_text(), self.filter.cleansed_substitute)


def masks_with_filter_alone():
    """
    Return whether the configured filter is this module's, or a subclass,
    but the reporter is not: half of each report is then not masked.
    """
    reporter_filter = import_string(settings.DEFAULT_EXCEPTION_REPORTER_FILTER)
    reporter = import_string(settings.DEFAULT_EXCEPTION_REPORTER)
    return issubclass(reporter_filter, ExceptionReporterFilter) and not issubclass(
        reporter, ExceptionReporter
    )


@sensitive_variables()
def configured_filter_shows_passwords():
    """
    Return whether the configured ``DEFAULT_EXCEPTION_REPORTER_FILTER``
    would show a password from ``EMAIL_HOSTS`` in an error report.
    """
    reporter_filter = import_string(settings.DEFAULT_EXCEPTION_REPORTER_FILTER)()
    shown = reporter_filter.get_safe_settings().get("EMAIL_HOSTS")
    for key, dsn in conf.email_hosts().items():
        if not (password := _password(dsn)):
            continue
        value = shown.get(key) if isinstance(shown, dict) else shown
        if isinstance(value, str) and (value == dsn or _password(value) == password):
            return True
    return False


@sensitive_variables()
def _password(dsn):
    try:
        return parse_dsn(dsn).password
    except ValidationError:
        return ""  # E001 reports a DSN that does not parse.
