"""
Each host's last known state is kept: checks and real sends write it, the
admin shows and filters it, for stored hosts and hosts from settings.
"""

import io
import logging
import smtplib

import pytest
from django.contrib.auth.models import Permission, User
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from email_hosts import hosts
from email_hosts.backends import backend_for, get_connection
from email_hosts.models import HostStatus


CHANGELIST = reverse("admin:email_hosts_emailhost_changelist")


def _status(key):
    return HostStatus.objects.filter(key=key).values_list("ok", "message").first()


def test_a_check_from_the_admin_is_kept(press_button, email_host, smtp_server):
    host = email_host("shop", smtp_server.dsn())
    press_button(host)
    assert _status("shop") == (True, "")


def test_a_failed_check_keeps_its_reason(press_button, email_host, refused_port):
    host = email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=2")
    press_button(host)
    assert _status("shop") == (
        False,
        f"127.0.0.1:{refused_port} refused the connection; check the host and the port",
    )


def test_a_real_send_keeps_the_status_even_when_silent(email_host, refused_port):
    email_host("shop", f"smtp://127.0.0.1:{refused_port}?timeout=2")
    backend = get_connection("shop")
    backend.fail_silently = True
    assert (
        backend.send_messages([EmailMessage("Hi", "Body", to=["r@example.org"])]) == 0
    )
    assert _status("shop")[0] is False


def test_a_busy_host_costs_no_write_per_send(email_host, smtp_server):
    email_host("shop", smtp_server.dsn())
    message = EmailMessage("Hi", "Body", to=["r@example.org"])
    assert get_connection("shop").send_messages([message]) == 1
    assert _status("shop") == (True, "")
    smtp_server.restart()  # The next send opens a new connection.
    with CaptureQueriesContext(connection) as queries:
        assert get_connection("shop").send_messages([message]) == 1
    table = HostStatus._meta.db_table
    assert [q["sql"] for q in queries if table in q["sql"]] == []


def test_a_change_of_state_is_written_at_once(email_host, smtp_server):
    host = email_host("shop", smtp_server.dsn())
    message = EmailMessage("Hi", "Body", to=["r@example.org"])
    assert get_connection("shop").send_messages([message]) == 1
    host.dsn = smtp_server.dsn(password="wrong")
    host.save()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        get_connection("shop").send_messages([message])
    assert _status("shop") == (False, "the server rejected the login (535)")


def test_a_status_that_cannot_be_stored_does_not_fail_the_send(
    settings, smtp_server, caplog
):
    # No database here, as in Django's SimpleTestCase.
    settings.EMAIL_HOSTS = {"shop": smtp_server.dsn()}
    backend = backend_for(hosts.from_settings("shop"))
    with caplog.at_level(logging.WARNING, logger="email_hosts"):
        sent = backend.send_messages([EmailMessage("Hi", "Body", to=["r@example.org"])])
    assert sent == 1
    assert "Could not store the status of email host 'shop'." in caplog.text


def test_sendtestemailhosts_check_keeps_the_status_of_settings_hosts(
    db, settings, smtp_server, refused_port
):
    settings.EMAIL_HOSTS = {
        "good": smtp_server.dsn(),
        "bad": f"smtp://127.0.0.1:{refused_port}?timeout=2",
    }
    with pytest.raises(CommandError):
        call_command("sendtestemailhosts", "--check", "--all", stdout=io.StringIO())
    assert _status("good") == (True, "")
    assert _status("bad")[0] is False


# The changelist


def test_the_list_shows_each_status(admin_client, email_host, smtp_server):
    email_host("never", smtp_server.dsn())
    email_host("good", smtp_server.dsn())
    HostStatus.objects.create(
        key="good", ok=True, message="", checked_at=timezone.now()
    )
    HostStatus.objects.create(
        key="bad",
        ok=False,
        message="the server answered 421",
        checked_at=timezone.now(),
    )
    email_host("bad", smtp_server.dsn())
    html = admin_client.get(CHANGELIST).content.decode()
    assert "never checked" in html
    assert "works" in html
    assert "the server answered 421" in html
    assert "just now" in html


@pytest.mark.parametrize(
    ("choice", "keys"),
    [("failing", ["bad"]), ("working", ["good"]), ("never", ["never"])],
)
def test_the_list_filters_by_status(admin_client, email_host, choice, keys):
    for key in ("bad", "good", "never"):
        email_host(key, "console://")
    HostStatus.objects.create(
        key="good", ok=True, message="", checked_at=timezone.now()
    )
    HostStatus.objects.create(
        key="bad", ok=False, message="down", checked_at=timezone.now()
    )
    response = admin_client.get(CHANGELIST, {"status": choice})
    assert [host.key for host in response.context["cl"].result_list] == keys


def test_hosts_from_settings_show_their_status(admin_client, settings, db):
    settings.EMAIL_HOSTS = {"club": "smtp://smtp.example.org"}
    HostStatus.objects.create(
        key="club",
        ok=False,
        message="the server answered 421",
        checked_at=timezone.now(),
    )
    html = admin_client.get(CHANGELIST).content.decode()
    assert "the server answered 421" in html


def test_a_host_from_settings_is_checked_from_the_list(
    admin_client, settings, smtp_server
):
    settings.EMAIL_HOSTS = {"club": smtp_server.dsn()}
    url = reverse("admin:email_hosts_emailhost_check_settings_host", args=["club"])
    assert url in admin_client.get(CHANGELIST).content.decode()
    response = admin_client.post(url, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Email host 'club': the connection works."
    ]
    assert _status("club") == (True, "")


def test_checking_a_host_from_settings_needs_a_post_and_the_permission(
    admin_client, client, settings, db
):
    settings.EMAIL_HOSTS = {"club": "smtp://smtp.example.org"}
    url = reverse("admin:email_hosts_emailhost_check_settings_host", args=["club"])
    assert admin_client.get(url).status_code == 405
    assert admin_client.post(url.replace("club", "nope")).status_code == 404
    user = User.objects.create_user("staff", "s@example.org", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_emailhost"))
    client.force_login(user)
    assert client.post(url).status_code == 403
    assert "check-connection" not in client.get(CHANGELIST).content.decode()
