"""
Run Django's own mail tests, from the sdist of the installed Django, with
EmailHostsBackend in place of django.core.mail.backends.smtp.EmailBackend.

Every intended difference is skipped by test name, with its reason, and is
listed in docs/upgrading.rst. Usage, with the Python of a matrix cell:
python .ci/django_mail_tests.py PATH/TO/django-X.Y.Z/tests
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


def _substitute_our_backend():
    from django.core.mail.backends import smtp  # noqa: PLC0415

    from email_hosts.backends import EmailHostsBackend  # noqa: PLC0415

    smtp.EmailBackend = EmailHostsBackend


def _skip_intended_differences():
    from django.test.runner import DiscoverRunner  # noqa: PLC0415
    from django.test.utils import iter_test_cases  # noqa: PLC0415

    build_suite = DiscoverRunner.build_suite

    def build_suite_with_skips(self, *args, **kwargs):
        suite = build_suite(self, *args, **kwargs)
        for test in iter_test_cases(suite):
            if reason := INTENDED_DIFFERENCES.get(test.id()):
                method = getattr(test, test._testMethodName)
                setattr(test, test._testMethodName, unittest.skip(reason)(method))
        return suite

    DiscoverRunner.build_suite = build_suite_with_skips


def main(tests_directory):
    sys.path[:0] = [str(tests_directory), str(ROOT)]
    _substitute_our_backend()
    _skip_intended_differences()
    sys.argv = ["runtests.py", "mail", "--settings=test_sqlite", "--parallel=1"]
    runtests = tests_directory / "runtests.py"
    code = compile(runtests.read_text(), str(runtests), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(runtests)})  # noqa: S102


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
