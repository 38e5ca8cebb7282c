"""
Keep relay passwords out of Django's error reports: the debug page and the
mails of ``AdminEmailHandler``.

Django hides settings whose names contain PASS, KEY, SECRET or TOKEN, but
``EMAIL_HOSTS`` is none of these, and its DSNs carry passwords. Use::

    DEFAULT_EXCEPTION_REPORTER_FILTER = "email_hosts.reporting.ExceptionReporterFilter"
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string
from django.views.debug import SafeExceptionReporterFilter
from django.views.decorators.debug import sensitive_variables

from email_hosts import conf
from email_hosts.dsn import parse_dsn


SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
PORT = re.compile(r"\d+(?:[/?#]|$)")


@sensitive_variables()
def mask_url_password(text, substitute):
    """
    Return ``text`` with the password of a URL such as a DSN replaced by
    ``substitute``. Also a password that broke the URL, or one given without
    ``@host``, is masked: masking too much is better than too little.
    """
    scheme, separator, rest = text.partition("://")
    if not separator or not SCHEME.fullmatch(scheme):
        return text
    userinfo, at, host = rest.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        return f"{scheme}://{user}:{substitute}@{host}" if colon else text
    host, colon, after = rest.partition(":")
    if colon and not PORT.match(after):
        return f"{scheme}://{host}:{substitute}"
    return text


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """
    Django's safe filter, which also masks the passwords of URLs in settings
    (``EMAIL_HOSTS`` and any ``scheme://user:password@host`` value) and in
    local variables, and honours ``sensitive_variables`` and
    ``sensitive_post_parameters`` with ``DEBUG`` on too, because the
    functions that hold relay passwords rely on them.
    """

    def is_active(self, request):
        return True

    def cleanse_setting(self, key, value):
        return self._masked(super().cleanse_setting(key, value))

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self._masked(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def _masked(self, value):
        if isinstance(value, str):
            return mask_url_password(value, self.cleansed_substitute)
        if isinstance(value, dict):
            return {key: self._masked(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._masked(item) for item in value)
        return value


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
