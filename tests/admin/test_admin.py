"""The admin: a write-only password, the whole layering on one page, no 500s."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from email_hosts.dsn import parse_dsn
from email_hosts.models import EmailHost


SECRET = "-".join(["stored", "relay", "password"])  # noqa: FLY002 -- not a source literal
CHANGELIST = reverse("admin:email_hosts_emailhost_changelist")
ROUTING = reverse("admin:email_hosts_emailhost_routing")
ADD = reverse("admin:email_hosts_emailhost_add")


def _change_url(host):
    return reverse("admin:email_hosts_emailhost_change", args=[host.pk])


def _fields(**overrides):
    return {
        "key": "shop",
        "default_from": "Shop <shop@example.com>",
        "kind": "submission",
        "host": "smtp.example.com",
        "port": "587",
        "security": "starttls",
        "username": "shop",
        "password": "",
        "timeout": "10",
        "pasted_dsn": "",
    } | overrides


@pytest.fixture
def stored(email_host):
    return email_host(
        "shop",
        f"submission://shop:{SECRET}@smtp.example.com:587?timeout=10",
        default_from="Shop <shop@example.com>",
    )


def _dsn(key="shop"):
    return parse_dsn(EmailHost.objects.get(key=key).dsn)


# The changelist


def test_changelist_summarises_without_the_password(admin_client, stored):
    html = admin_client.get(CHANGELIST).content.decode()
    assert "submission://shop@smtp.example.com:587 (STARTTLS)" in html
    assert SECRET not in html


def test_changelist_searches_by_key(admin_client, email_host):
    email_host("shop", "smtp://shop.example.com")
    email_host("club", "smtp://club.example.org")
    html = admin_client.get(CHANGELIST, {"q": "club"}).content.decode()
    assert "club.example.org" in html
    assert "shop.example.com" not in html


@override_settings(
    EMAIL_HOSTS={
        "shop": "smtp://settings-shop.example.com",
        "club": f"submission://club:{SECRET}@smtp.example.org",
    }
)
def test_changelist_shows_settings_hosts_and_which_the_database_overrides(
    admin_client, stored
):
    html = admin_client.get(CHANGELIST).content.decode()
    assert "Hosts from settings (read-only)" in html
    assert "submission://club@smtp.example.org:587 (STARTTLS)" in html
    assert "No: the database row with this key wins" in html
    assert "database, overrides settings" in html
    assert SECRET not in html


def test_changelist_queries_do_not_grow_with_hosts(admin_client, email_host):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(queries)

    for number in range(3):
        email_host(f"host-{number}", "smtp://smtp.example.com")
    few = count_queries()
    for number in range(3, 40):
        email_host(f"host-{number}", "smtp://smtp.example.com")
    assert count_queries() == few


# The change form


def test_add_from_plain_fields_stores_the_dsn(admin_client, db):
    response = admin_client.post(ADD, _fields(password="new-secret"))
    assert response.status_code == 302
    assert _dsn() == parse_dsn(
        "submission://shop:new-secret@smtp.example.com:587?timeout=10"
    )


def test_password_is_never_rendered(admin_client, stored):
    html = admin_client.get(_change_url(stored)).content.decode()
    assert SECRET not in html
    assert "A password is stored. Leave empty to keep it." in html


def test_password_is_not_rendered_after_a_validation_error(admin_client, db):
    response = admin_client.post(ADD, _fields(password="typed-secret", port="0"))
    assert response.status_code == 200
    assert "typed-secret" not in response.content.decode()


def test_pasted_dsn_is_not_rendered_after_a_validation_error(admin_client, db):
    pasted = "submission://shop:pasted-secret@smtp.example.com?timout=5"
    response = admin_client.post(ADD, _fields(pasted_dsn=pasted))
    html = response.content.decode()
    assert "Unknown query parameter &#x27;timout&#x27;" in html
    assert "pasted-secret" not in html


def test_blank_password_keeps_the_stored_one(admin_client, stored):
    admin_client.post(_change_url(stored), _fields(timeout="20"))
    assert (_dsn().password, _dsn().timeout) == (SECRET, 20)


def test_checkbox_clears_the_stored_password(admin_client, stored):
    admin_client.post(_change_url(stored), _fields(clear_password="on"))
    assert _dsn().password == ""


@pytest.mark.parametrize(
    "change",
    [
        {"host": "evil.example.net"},
        {"port": "2525"},
        {"username": "other"},
        # Weaker transport security is a new destination too.
        {"kind": "smtp", "security": "none"},
        {"kind": "smtp"},
        {"security": "ssl"},
        {"ssl_cafile": "/etc/ssl/attacker-ca.pem"},
    ],
)
def test_moving_a_stored_password_needs_it_again(admin_client, stored, change):
    response = admin_client.post(_change_url(stored), _fields(**change))
    assert response.status_code == 200
    assert (
        response.context["adminform"]
        .form.errors["password"][0]
        .startswith("Enter the password again")
    )
    assert _dsn().host == "smtp.example.com"


def test_moving_with_the_password_entered_again_saves(admin_client, stored):
    admin_client.post(
        _change_url(stored), _fields(host="new.example.com", password=SECRET)
    )
    assert (_dsn().host, _dsn().password) == ("new.example.com", SECRET)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"port": "0"}, "port", "greater than or equal to 1"),
        ({"timeout": "0"}, "timeout", "greater than or equal to 1"),
        ({"host": "user@smtp.example.com"}, "host", "Enter the host name alone"),
        ({"host": ""}, "host", "submission:// needs a host"),
        ({"username": "jörg", "password": "x"}, "username", "user name must be ASCII"),
        ({"password": "pässword"}, "password", "password must be ASCII"),
        ({"security": "none"}, "security", "SMTP submission always uses TLS"),
        ({"default_from": "Shop <shop>"}, "default_from", "Enter one sender"),
        ({"key": "not a slug"}, "key", "Enter a valid"),
    ],
)
def test_errors_land_on_the_field_that_caused_them(
    admin_client, db, fields, field, message
):
    response = admin_client.post(ADD, _fields(password="x") | fields)
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert message in errors[field][0]


def test_pasted_dsn_replaces_the_fields(admin_client, stored):
    pasted = "smtp://other:p%40ss@mx.example.org:2525?ssl"
    admin_client.post(_change_url(stored), _fields(pasted_dsn=pasted))
    assert EmailHost.objects.get(key="shop").dsn == pasted


def test_local_kind_needs_no_host(admin_client, db):
    admin_client.post(ADD, _fields(kind="console", host="", username=""))
    assert EmailHost.objects.get(key="shop").dsn == "console://"


@pytest.mark.parametrize("view", ["add", "change"])
def test_error_reports_hide_secret_post_parameters(admin_client, stored, view):
    url = ADD if view == "add" else _change_url(stored)
    response = admin_client.post(url, _fields(port="0", password="x", pasted_dsn="y"))
    posted = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert {posted["password"], posted["pasted_dsn"]} == {"********************"}
    assert posted["host"] == "smtp.example.com"


def test_admin_history_holds_the_key_only(admin_client, db):
    admin_client.post(ADD, _fields(password="history-secret"))
    host = EmailHost.objects.get(key="shop")
    admin_client.post(
        _change_url(host), _fields(password="history-secret-2", timeout="30")
    )
    entries = LogEntry.objects.order_by("pk")
    assert [entry.object_repr for entry in entries] == ["shop", "shop"]
    for entry in entries:
        assert "history-secret" not in entry.change_message
        json.loads(entry.change_message or "[]")


# Undecryptable rows


@pytest.fixture
def undecryptable(stored, settings):
    settings.FERNET_KEYS = ["a-key-that-never-encrypted-it"]
    return stored


def test_undecryptable_row_is_flagged_on_the_changelist(admin_client, undecryptable):
    html = admin_client.get(CHANGELIST).content.decode()
    assert "Cannot be decrypted with the current keys" in html


def test_undecryptable_row_change_page_opens_and_says_what_to_do(
    admin_client, undecryptable
):
    response = admin_client.get(_change_url(undecryptable))
    assert response.status_code == 200
    assert (
        "Add the key it was encrypted with to FERNET_KEYS" in response.content.decode()
    )


def test_undecryptable_row_can_be_deleted(admin_client, undecryptable):
    url = reverse("admin:email_hosts_emailhost_delete", args=[undecryptable.pk])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"post": "yes"})
    assert not EmailHost.objects.exists()


def test_entering_the_connection_again_repairs_an_undecryptable_row(
    admin_client, undecryptable
):
    response = admin_client.post(_change_url(undecryptable), _fields(password="fresh"))
    assert response.status_code == 302
    assert _dsn().password == "fresh"


# Permissions and the diagnostics


@pytest.fixture
def staff_client(client, db):
    def login(*codenames):
        user = User.objects.create_user(
            "staff", "staff@example.org", "pw", is_staff=True
        )
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        client.force_login(user)
        return client

    return login


def test_staff_without_permissions_get_403(staff_client, stored):
    client = staff_client()
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(_change_url(stored)).status_code == 403


def _check_url(host, action="check_connection"):
    return reverse(f"admin:email_hosts_emailhost_{action}", args=[host.pk])


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def test_check_connection_button_reports_success(admin_client, email_host, smtp_server):
    host = email_host("shop", smtp_server.dsn())
    response = admin_client.post(_check_url(host), follow=True)
    assert _messages(response) == ["Email host 'shop': the connection works."]


def test_check_connection_button_reports_a_rejected_login(
    admin_client, email_host, smtp_server
):
    host = email_host("shop", smtp_server.dsn(password="wrong"))
    response = admin_client.post(_check_url(host), follow=True)
    assert _messages(response) == [
        (
            "Email host 'shop': the server rejected the login (535). It has no backup,"
            " so mail sent through it fails until this is fixed."
        )
    ]


def test_diagnostics_refuse_get(admin_client, stored):
    assert admin_client.get(_check_url(stored)).status_code == 405


def test_diagnostics_need_the_change_permission(staff_client, stored):
    client = staff_client("view_emailhost")
    assert client.post(_check_url(stored)).status_code == 403


def test_send_test_email_goes_to_the_requesting_user_only(
    client, email_host, smtp_server
):
    user = User.objects.create_superuser("boss", "boss@example.org", "pw")
    client.force_login(user)
    host = email_host("shop", smtp_server.dsn(), default_from="shop@example.com")
    response = client.post(_check_url(host, "send_test_email"), follow=True)
    assert _messages(response) == [
        "Email host 'shop': sent a test email to boss@example.org."
    ]
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["boss@example.org"]]


def test_send_test_email_needs_an_address(client, email_host, smtp_server):
    client.force_login(User.objects.create_superuser("boss", "", "pw"))
    host = email_host("shop", smtp_server.dsn())
    response = client.post(_check_url(host, "send_test_email"), follow=True)
    assert _messages(response)[0].startswith("Add an email address to your user first")
    assert smtp_server.envelopes == []


def test_check_connection_action_reports_each_host(
    admin_client, email_host, smtp_server, refused_port
):
    good = email_host("good", smtp_server.dsn())
    bad = email_host("bad", f"smtp://127.0.0.1:{refused_port}?timeout=2")
    response = admin_client.post(
        CHANGELIST,
        {"action": "check_connection_action", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    assert sorted(_messages(response)) == [
        (
            f"Email host 'bad': 127.0.0.1:{refused_port} refused the connection;"
            " check the host and the port. It has no backup, so mail sent through it"
            " fails until this is fixed."
        ),
        "Email host 'good': the connection works.",
    ]


def test_diagnostics_refuse_a_post_without_csrf_token(
    email_host, smtp_server, admin_user
):
    strict_client = Client(enforce_csrf_checks=True)
    strict_client.force_login(admin_user)
    host = email_host("shop", smtp_server.dsn())
    assert strict_client.post(_check_url(host)).status_code == 403


@override_settings(
    EMAIL_HOSTS={"club": "smtp://smtp.example.org?_sender_domains=example.org"}
)
def test_the_routing_page_shows_who_sends_for_each_domain(admin_client, email_host):
    email_host("transactional", "smtp://a.example.com", default_from="t@example.com")
    email_host("newsletter", "smtp://b.example.com", default_from="n@example.com")
    email_host(
        "shop", "smtp://c.example.com", default_from="s@example.net", backups="club"
    )
    assert ROUTING in admin_client.get(CHANGELIST).content.decode()
    response = admin_client.get(ROUTING)
    assert [
        (route.domain, route.keys, route.ambiguous, backups)
        for route, backups in response.context["routes"]
    ] == [
        ("example.com", ("newsletter", "transactional"), True, []),
        ("example.net", ("shop",), False, ["club"]),
        ("example.org", ("club",), False, []),
    ]
    html = response.content.decode()
    assert "Nobody: several hosts tie (newsletter, transactional)" in html
    assert "listed in its sender domains" in html
    by_key = reverse("admin:email_hosts_emailhost_by_key", args=["club"])
    assert f'<td><a href="{by_key}">club</a></td>' in html
    assert "nobody: the mail fails" in html


def test_the_routing_page_needs_permission_to_view_hosts(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    client.force_login(staff)
    assert client.get(ROUTING).status_code == 403


def _changelist_queries(admin_client, count):
    EmailHost.objects.bulk_create(
        EmailHost(key=f"host-{number:04}", dsn="smtp://smtp.example.com")
        for number in range(EmailHost.objects.count(), count)
    )
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(CHANGELIST).status_code == 200
    return [query["sql"] for query in queries]


@override_settings(EMAIL_HOSTS={"club": "smtp://smtp.example.org"})
def test_the_changelist_reads_a_page_of_hosts_whatever_their_number(admin_client):
    few, many = (
        _changelist_queries(admin_client, 3),
        _changelist_queries(admin_client, 400),
    )
    assert len(few) == len(many)
    table = EmailHost._meta.db_table
    on_hosts = [sql for sql in many if table in sql]
    counts = [sql for sql in on_hosts if sql.startswith("SELECT COUNT(")]
    assert len(counts) == 1
    # Every other read is limited to a page, or to the keys settings define.
    assert all(
        "LIMIT" in sql or " IN (" in sql for sql in on_hosts if sql not in counts
    )
