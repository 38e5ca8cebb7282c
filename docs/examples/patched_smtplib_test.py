# A test of your own mail code, written as for Django's SMTP backend.
from unittest import mock

from django.core.mail import EmailMessage

from email_hosts.backends import get_connection


@mock.patch("smtplib.SMTP")
def test_welcome_mail(mock_smtp):
    welcome = EmailMessage("Welcome", "Hello", "shop@example.com", ["new@example.org"])
    get_connection("shop").send_messages([welcome])
    mock_smtp.return_value.sendmail.assert_called_once()
