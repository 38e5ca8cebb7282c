"""
Run Django's own tests, from the sdist of the installed Django, against
this package: the mail tests with EmailHostsBackend in place of
django.core.mail.backends.smtp.EmailBackend, and the debug page's tests
with email_hosts.reporting's filter and reporter as the defaults.

Every intended difference is skipped by test name, with its reason, and is
listed in docs/upgrading.rst or docs/security.rst. Usage, with the Python
of a matrix cell:
python .ci/django_tests.py mail|debug|debug-sensitive PATH/TO/django-X.Y.Z/tests
"""

import sys
import unittest
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent

_HALF_OPEN = (
    "Closes a connection whose STARTTLS or login failed at once: Django keeps"
    " it until the next open() or close(), which a failed send never calls."
)
_CLIENT_CERTIFICATE = (
    "Verifies the relay also with a client certificate: Django's context for"
    " one is a bare SSLContext that trusts no CA."
)
_ROOT = "CI runs as root, for whom every path is writable; not about our backend."

#: Test id -> why it does not hold for our backend, on purpose. Listed with
#: the same reasons in docs/upgrading.rst.
INTENDED_DIFFERENCES = {
    # Django 5.2
    "mail.tests.SMTPBackendTests.test_reopen_replaces_partial_connection": _HALF_OPEN,
    # Django 6.1
    "mail.test_backends.SMTPBackendTests.test_reopen_replaces_partial_connection": (
        _HALF_OPEN
    ),
    "mail.test_backends.SMTPBackendTests.test_ssl_context_uses_ssl_certfile_and_keyfile": (
        _CLIENT_CERTIFICATE
    ),
    "mail.test_backends.SMTPBackendTests.test_unknown_kwargs_ignored": (
        "The warning names our class, EmailHostsBackend, not EmailBackend."
    ),
    "mail.test_backends.FileBackendTests.test_error_if_file_path_is_not_writable": _ROOT,
    "mail.test_backends.FileBackendPathLibTests.test_error_if_file_path_is_not_writable": (
        _ROOT
    ),
}


_DEBUG_SHOWS_SENSITIVE = [
    f"view_tests.tests.test_debug.{name}"
    for name in (
        "ExceptionReporterFilterTests.test_async_sensitive_method",
        "ExceptionReporterFilterTests.test_async_sensitive_method_nested",
        "ExceptionReporterFilterTests.test_async_sensitive_nested_request",
        "ExceptionReporterFilterTests.test_async_sensitive_request",
        "ExceptionReporterFilterTests.test_multivalue_dict_key_error",
        "ExceptionReporterFilterTests.test_paranoid_request",
        "ExceptionReporterFilterTests.test_partially_sensitive_request",
        "ExceptionReporterFilterTests.test_sensitive_function_arguments",
        "ExceptionReporterFilterTests.test_sensitive_function_keyword_arguments",
        "ExceptionReporterFilterTests.test_sensitive_method",
        "ExceptionReporterFilterTests.test_sensitive_request",
        "NonHTMLResponseExceptionReporterFilter.test_async_sensitive_request",
        "NonHTMLResponseExceptionReporterFilter.test_async_sensitive_request_nested",
        "NonHTMLResponseExceptionReporterFilter.test_paranoid_request",
        "NonHTMLResponseExceptionReporterFilter.test_sensitive_request",
    )
]
#: The same, for the debug tests: each also checks that DEBUG = True shows
#: what sensitive_variables and sensitive_post_parameters mark, which our
#: filter hides with DEBUG on too (docs/security.rst). The suite
#: "debug-sensitive" runs them with our filter made inactive under DEBUG,
#: as Django's is, so that their DEBUG = False halves still run against it.
INTENDED_DEBUG_DIFFERENCES = dict.fromkeys(
    _DEBUG_SHOWS_SENSITIVE,
    "Our filter hides what sensitive_variables and sensitive_post_parameters"
    " mark with DEBUG on too; the debug-sensitive suite runs this test.",
)


def _substitute_our_backend():
    from django.core.mail.backends import smtp  # noqa: PLC0415

    from email_hosts.backends import EmailHostsBackend  # noqa: PLC0415

    smtp.EmailBackend = EmailHostsBackend


def _skip_intended_differences(differences):
    from django.test.runner import DiscoverRunner  # noqa: PLC0415
    from django.test.utils import iter_test_cases  # noqa: PLC0415

    build_suite = DiscoverRunner.build_suite

    def build_suite_with_skips(self, *args, **kwargs):
        suite = build_suite(self, *args, **kwargs)
        for test in iter_test_cases(suite):
            if reason := differences(test.id()):
                method = getattr(test, test._testMethodName)
                setattr(test, test._testMethodName, unittest.skip(reason)(method))
        return suite

    DiscoverRunner.build_suite = build_suite_with_skips


#: Each suite: the tests it runs, its settings, what it puts in place, and
#: the differences it skips.
SUITES = {
    "mail": (
        "mail",
        "test_sqlite",
        _substitute_our_backend,
        INTENDED_DIFFERENCES.get,
    ),
    "debug": (
        "view_tests.tests.test_debug",
        "django_debug_settings",
        None,
        INTENDED_DEBUG_DIFFERENCES.get,
    ),
    "debug-sensitive": (
        "view_tests.tests.test_debug",
        "django_debug_settings_like_django",
        None,
        lambda test_id: (
            None if test_id in INTENDED_DEBUG_DIFFERENCES else "Run by the debug suite."
        ),
    ),
}


def main(suite, tests_directory):
    labels, settings, prepare, differences = SUITES[suite]
    sys.path[:0] = [str(tests_directory), str(ROOT), str(ROOT / ".ci")]
    if prepare is not None:
        prepare()
    _skip_intended_differences(differences)
    sys.argv = ["runtests.py", labels, f"--settings={settings}", "--parallel=1"]
    runtests = tests_directory / "runtests.py"
    code = compile(runtests.read_text(), str(runtests), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(runtests)})  # noqa: S102


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]).resolve())
