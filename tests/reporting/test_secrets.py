"""A password never reaches Django's error reports, logs or exceptions."""

import smtplib
import sys

import pytest
from django.core.mail import EmailMessage
from django.views.debug import ExceptionReporter

from email_hosts.backends import get_connection
from email_hosts.exceptions import InvalidEmailHost
from email_hosts.models import EmailHost


# Joined at run time: reports quote source lines, and must not find it there.
SECRET = "-".join(["hunter2", "error", "report", "secret"])  # noqa: FLY002


def _report_for(exception_type, call):
    try:
        call()
    except exception_type:
        reporter = ExceptionReporter(None, *sys.exc_info())
        return reporter.get_traceback_html() + reporter.get_traceback_text()
    pytest.fail(f"{call} did not raise {exception_type.__name__}")


def test_error_report_for_a_bad_stored_dsn_hides_the_password(db):
    EmailHost.objects.bulk_create(
        [EmailHost(key="shop", dsn=f"smtp://user:{SECRET}@smtp.example.com?timout=1")]
    )
    report = _report_for(InvalidEmailHost, lambda: get_connection("shop"))
    assert "get_connection" in report
    assert SECRET not in report


def test_error_report_for_a_rejected_login_hides_the_password(email_host, smtp_server):
    email_host("shop", smtp_server.dsn(password=SECRET))

    def send():
        with get_connection("shop") as connection:
            connection.send_messages([EmailMessage("Hi", "x", to=["to@example.org"])])

    report = _report_for(smtplib.SMTPAuthenticationError, send)
    assert "login" in report
    assert SECRET not in report
