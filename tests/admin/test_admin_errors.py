"""The form's errors: all at once, on the field that caused them, actionable."""

import pytest
from django.urls import reverse
from hypothesis import given, strategies

from email_hosts.admin.pasted_dsn import readable_fields
from email_hosts.models import EmailHost
from tests.fuzzing import fuzz


def test_every_mistake_is_reported_in_one_round(add_form_errors, email_host):
    errors = add_form_errors(
        kind="submission",
        host="bad host",
        security="none",
        default_from="x",
        sender_domains="example.com, not a domain",
        backups="typo",
    )
    assert errors == {
        "host": [
            (
                "'bad host' is not a host name: use letters, digits, dots and hyphens,"
                " such as smtp.example.com."
            )
        ],
        "security": [
            (
                "SMTP submission always uses TLS. Choose SMTP as the kind for no"
                " encryption."
            )
        ],
        "default_from": [
            (
                "Enter one sender as addr@example.com or Name <addr@example.com>, not"
                " 'x'."
            )
        ],
        "sender_domains": ["'not a domain' is not a domain name such as example.com."],
        "backups": ["No email host typo: add it first, or correct the key."],
    }
    assert not EmailHost.objects.exists()


def test_a_domain_listed_by_a_host_from_settings_says_where_to_fix_it(
    add_form_errors, settings
):
    settings.EMAIL_HOSTS = {"demo": "console://?_sender_domains=example.com"}
    errors = add_form_errors(
        kind="console", security="none", sender_domains="example.com"
    )
    assert errors == {
        "sender_domains": [
            (
                "example.com already listed by demo, which comes from the EMAIL_HOSTS"
                " setting and cannot be changed here: one host per domain. Remove the"
                " domain here, or from that host's DSN in the settings."
            )
        ]
    }


def test_a_domain_listed_by_a_stored_host_may_be_moved_there(
    add_form_errors, email_host
):
    email_host("demo", "console://", sender_domains="example.com")
    errors = add_form_errors(
        kind="console", security="none", sender_domains="example.com"
    )
    assert errors["sender_domains"] == [
        (
            "example.com already listed by demo: one host per domain. Remove it here"
            " or there; the other host can be a backup."
        )
    ]


@pytest.fixture
def post_add(admin_client):
    def post(**fields):
        data = {"key": "shop", "kind": "console", "security": "none"} | fields
        return admin_client.post(reverse("admin:email_hosts_emailhost_add"), data)

    return post


def test_a_refused_paste_fills_the_fields_but_never_the_password(post_add):
    response = post_add(
        pasted_dsn="submission://shop:pasted-secret@smtp.example.com:2525?timout=5"
    )
    form = response.context["adminform"].form
    assert form.errors["pasted_dsn"] == [
        (
            "Unknown query parameter 'timout'. Known parameters are _backups,"
            " _default_from_email, _sender_domains, authorize_url, client_id, oauth2, sasl, scope,"
            " ssl, ssl_cafile, ssl_certfile, ssl_keyfile, tenant, timeout, tls,"
            " token_url."
        ),
        (
            "The fields above now hold what could be read from it, except the"
            " password: correct the mistake there and enter the password, or paste"
            " the DSN again."
        ),
    ]
    assert [form[name].value() for name in ("kind", "host", "port", "username")] == [
        "submission",
        "smtp.example.com",
        "2525",
        "shop",
    ]
    assert "pasted-secret" not in response.content.decode()


@given(password=strategies.text(alphabet="QXZJ@?/#:%", min_size=1, max_size=12))
@fuzz()
def test_what_a_refused_paste_shows_never_holds_a_piece_of_its_password(password):
    # Letters found nowhere else in the DSN, and the separators of a URL.
    dsn = f"submission://shop:{password}@smtp.example.com:587?timout=5"
    shown = "".join(readable_fields(dsn).values())
    assert not set("QXZJ") & set(shown)


@pytest.mark.parametrize(
    "dsn",
    [
        "submission://shop:12345/x@smtp.example.com?timout=5",
        "submission://shop:12345?x@smtp.example.com",
        "submission://shop:12345",
    ],
)
def test_a_numeric_password_cut_short_is_not_shown_as_a_port(dsn):
    assert "12345" not in readable_fields(dsn).values()
