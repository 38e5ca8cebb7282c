"""
Django's own test settings, with this package's error-report filter and
reporter as the defaults: Django's debug tests then run against them.
"""

from test_sqlite import *


DEFAULT_EXCEPTION_REPORTER_FILTER = "email_hosts.reporting.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "email_hosts.reporting.ExceptionReporter"
