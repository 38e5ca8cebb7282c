"""
Django's debug tests that check what DEBUG = True shows, run against our
filter made inactive under DEBUG, as Django's own filter is: their DEBUG =
False halves then test our filter, and their DEBUG = True halves what it
adds to Django's (masking URL passwords) without hiding what they look for.
"""

from django.views.debug import SafeExceptionReporterFilter
from django_debug_settings import *

from email_hosts.reporting import ExceptionReporterFilter


class FilterInactiveUnderDebug(ExceptionReporterFilter):
    is_active = SafeExceptionReporterFilter.is_active


DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "django_debug_settings_like_django.FilterInactiveUnderDebug"
)
