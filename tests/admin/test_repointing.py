"""
Staff who may change hosts rotate passwords; pointing a host's mail at
another server (another relay or port, weaker security, another CA or
OAuth2 server, new sender domains or backups, a new SMTP host) needs a
permission of its own, which only superusers hold until it is granted.
"""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from email_hosts.dsn import parse_dsn
from email_hosts.models import EmailHost


pytestmark = pytest.mark.django_db
DSN = "submission://shop:old-password@smtp.example.com?timeout=5"


@pytest.fixture
def staff(client, django_user_model):
    """A staff user who may view, add and change hosts, and no more."""
    user = django_user_model.objects.create_user("staff", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_emailhost", "add_emailhost", "change_emailhost"]
        )
    )
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def shop(email_host):
    email_host("spare", "submission://u:p@smtp.example.org")
    return email_host("shop", DSN, default_from="Shop <shop@example.com>")


def _change(client, row, **changes):
    """POST the row's change form as shown, with ``changes``; return the answer."""
    url = reverse("admin:email_hosts_emailhost_change", args=[row.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None
    }
    return client.post(url, data | changes)


def _errors(answer):
    assert answer.status_code == 200, answer.status_code  # Refused, never a 500.
    return answer.context["adminform"].form.errors


def test_staff_rotate_a_password(staff, shop):
    answer = _change(staff, shop, password="new-password")
    assert answer.status_code == 302
    shop.refresh_from_db()
    assert parse_dsn(shop.dsn).password == "new-password"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"host": "mail.attacker.example", "password": "x"}, "host"),
        ({"port": 2525, "password": "x"}, "host"),
        ({"username": "attacker@gmail.example", "password": "x"}, "username"),
        ({"kind": "console", "security": "none"}, "kind"),
        ({"kind": "smtp", "security": "none", "password": "x"}, "security"),
        ({"ssl_cafile": "/etc/ssl/other-ca.pem", "password": "x"}, "ssl_cafile"),
        ({"key": "shop2"}, "key"),
        ({"sender_domains": "example.org"}, "sender_domains"),
        ({"default_from": "Shop <shop@example.net>"}, "sender_domains"),
        ({"backups": "spare"}, "backups"),
        (
            {"pasted_dsn": "submission://shop:x@mail.attacker.example"},
            "pasted_dsn",
        ),
    ],
)
def test_staff_cannot_change_where_mail_goes(staff, shop, changes, field):
    before = EmailHost.objects.values().get(pk=shop.pk)
    errors = _errors(_change(staff, shop, **changes))
    assert list(errors) == [field]
    assert "'Can point an email host at another relay'" in errors[field][0]
    assert EmailHost.objects.values().get(pk=shop.pk) == before


def test_staff_cannot_add_a_host_that_sends_over_smtp(staff, db):
    answer = staff.post(
        reverse("admin:email_hosts_emailhost_add"),
        {
            "key": "evil",
            "kind": "submission",
            "host": "mail.attacker.example",
            "security": "starttls",
        },
    )
    assert "adding a host that sends over SMTP" in str(_errors(answer)["key"])
    assert not EmailHost.objects.exists()


def test_staff_cannot_add_a_host_that_prints_mail(staff, db):
    answer = staff.post(
        reverse("admin:email_hosts_emailhost_add"),
        {"key": "dev", "kind": "console", "security": "none"},
    )
    assert "adding a host that prints mail" in str(_errors(answer)["key"])


@pytest.mark.parametrize("kind", ["locmem", "dummy"])
def test_staff_may_add_a_host_that_sends_nowhere(staff, db, kind):
    answer = staff.post(
        reverse("admin:email_hosts_emailhost_add"),
        {"key": "dev", "kind": kind, "security": "none"},
    )
    assert answer.status_code == 302
    assert EmailHost.objects.get().dsn == f"{kind}://"


def test_stronger_security_and_fewer_domains_need_no_permission(staff, email_host):
    host = email_host(
        "club", "smtp://club:pw@smtp.example.org", sender_domains="example.org"
    )
    answer = _change(staff, host, security="starttls", sender_domains="", password="pw")
    assert answer.status_code == 302, answer.context["adminform"].form.errors


def test_the_permission_lets_staff_re_point(staff, shop):
    staff.user.user_permissions.add(
        Permission.objects.get(codename="repoint_emailhost")
    )
    answer = _change(staff, shop, host="smtp2.example.com", password="x")
    assert answer.status_code == 302


def test_superusers_re_point(admin_client, shop):
    answer = _change(admin_client, shop, host="smtp2.example.com", password="x")
    assert answer.status_code == 302
