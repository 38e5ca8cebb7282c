"""OAuth2 in a DSN: read, checked, written back, and kept by the admin."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from email_hosts.dsn import format_dsn, parse_dsn
from email_hosts.dsn.oauth2 import MICROSOFT_SCOPE
from email_hosts.models import EmailHost


SECRET = "client-secret-9Tz"
MICROSOFT = (
    f"submission://shop%40example.com:{SECRET}@smtp.office365.com:587"
    "?oauth2=microsoft&tenant=contoso.onmicrosoft.com&client_id=app-id"
)
ANY_SERVER = (
    f"submission://shop%40example.com:{SECRET}@smtp.example.com:587"
    "?oauth2=client_credentials&token_url=https%3A%2F%2Fidp.example.com%2Ftoken"
    "&client_id=app-id&scope=smtp%20send&sasl=oauthbearer"
)


def test_microsoft_fills_in_its_token_url_and_scope():
    oauth2 = parse_dsn(MICROSOFT).oauth2
    assert oauth2.token_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert (oauth2.scope, oauth2.mechanism) == (MICROSOFT_SCOPE, "xoauth2")


MICROSOFT_DELEGATED = (
    f"submission://shop%40example.com:{SECRET}@smtp.office365.com:587"
    "?oauth2=microsoft_delegated&tenant=contoso.onmicrosoft.com&client_id=app-id"
)
GOOGLE = (
    f"submission://shop%40example.com:{SECRET}@smtp.gmail.com:587"
    "?oauth2=google&client_id=app-id.apps.googleusercontent.com"
)
ANY_SERVER_DELEGATED = (
    f"submission://shop%40example.com:{SECRET}@smtp.example.com:587"
    "?oauth2=authorization_code&authorize_url=https%3A%2F%2Fidp.example.com%2Fauth"
    "&token_url=https%3A%2F%2Fidp.example.com%2Ftoken&client_id=app-id&scope=smtp"
)


@pytest.mark.parametrize(
    "dsn", [MICROSOFT, ANY_SERVER, MICROSOFT_DELEGATED, GOOGLE, ANY_SERVER_DELEGATED]
)
def test_an_oauth2_dsn_is_written_back_as_it_was_read(dsn):
    assert format_dsn(parse_dsn(dsn)) == dsn


@pytest.mark.parametrize(
    ("dsn", "authorize_url", "token_url", "scope"),
    [
        (
            MICROSOFT_DELEGATED,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "https://outlook.office.com/SMTP.Send offline_access",
        ),
        (
            GOOGLE,
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            "https://mail.google.com/",
        ),
    ],
)
def test_a_providers_delegated_login_fills_in_its_endpoints_and_scope(
    dsn, authorize_url, token_url, scope
):
    oauth2 = parse_dsn(dsn).oauth2
    assert oauth2.delegated
    assert (oauth2.authorize_url, oauth2.token_url, oauth2.scope) == (
        authorize_url,
        token_url,
        scope,
    )


def test_a_delegated_login_needs_a_safe_authorization_url():
    with pytest.raises(ValidationError) as raised:
        parse_dsn(
            ANY_SERVER_DELEGATED.replace(
                "https%3A%2F%2Fidp.example.com%2Fauth",
                "http%3A%2F%2Fidp.example.com%2Fauth",
            )
        )
    assert raised.value.code == "dsn_oauth2_authorize_url"


def test_the_summary_says_how_the_host_logs_in_and_never_the_secret():
    transport = parse_dsn(ANY_SERVER)
    assert transport.summary() == (
        "submission://shop@example.com@smtp.example.com:587"
        " (STARTTLS, OAuth2 OAUTHBEARER (idp.example.com))"
    )
    assert SECRET not in repr(transport)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "token_url=https%3A%2F%2Fidp.example.com",
            (
                "These parameters apply only to an OAuth2 login: token_url. Add"
                " oauth2=client_credentials or oauth2=microsoft, or remove them."
            ),
        ),
        (
            "oauth2=yahoo",
            (
                "Unknown oauth2 value 'yahoo'. Use one of client_credentials,"
                " microsoft, authorization_code, microsoft_delegated, google."
            ),
        ),
        ("oauth2=microsoft&client_id=a", "oauth2=microsoft needs tenant."),
        (
            "oauth2=microsoft&tenant=t&client_id=a&token_url=https%3A%2F%2Fx.example",
            (
                "oauth2=microsoft does not take token_url. Remove them; oauth2=microsoft"
                " fills in the token URL and scope from the tenant."
            ),
        ),
        (
            "oauth2=client_credentials&token_url=http%3A%2F%2Fidp.example.com&client_id=a",
            (
                "token_url must be an https:// URL without a user name or password"
                " (http:// only for a server on this machine, in tests)."
            ),
        ),
        (
            (
                "oauth2=client_credentials&client_id=a"
                f"&token_url=https%3A%2F%2Fme%3A{SECRET}%40idp.example.com"
            ),
            # An "@" after the host may be a cut-off password's: never quoted.
            (
                "The user name or password contains '/', '?' or '#'. URL-quote them"
                " as %2F, %3F and %23."
            ),
        ),
        (
            "oauth2=microsoft&tenant=t&client_id=a&sasl=plain",
            "Unknown sasl value 'plain'. Use one of xoauth2, oauthbearer.",
        ),
        (
            "oauth2=microsoft&tenant=bad%20tenant&client_id=a",
            (
                "tenant 'bad tenant' is not a tenant ID or domain name such as"
                " contoso.onmicrosoft.com."
            ),
        ),
    ],
)
def test_a_malformed_oauth2_login_says_what_is_wrong(query, message):
    with pytest.raises(ValidationError) as raised:
        parse_dsn(f"submission://shop%40example.com:{SECRET}@smtp.example.com?{query}")
    assert raised.value.messages == [message]


def test_a_token_must_not_travel_in_clear():
    with pytest.raises(ValidationError, match="so that it travels encrypted"):
        parse_dsn(MICROSOFT.replace("submission://", "smtp://"))


def test_an_oauth2_login_needs_the_mailbox_and_the_client_secret():
    with pytest.raises(ValidationError, match="needs the mailbox as the user name"):
        parse_dsn(MICROSOFT.replace(f":{SECRET}@", "@"))


def _post(admin_client, existing=None, **fields):
    url = (
        reverse("admin:email_hosts_emailhost_change", args=[existing.pk])
        if existing
        else reverse("admin:email_hosts_emailhost_add")
    )
    return admin_client.post(
        url,
        {
            "key": "shop",
            "kind": "submission",
            "host": "smtp.office365.com",
            "port": "",
            "security": "starttls",
            "login": "microsoft",
            "username": "shop@example.com",
            "password": "",
            "timeout": "",
            "tenant": "contoso.onmicrosoft.com",
            "client_id": "app-id",
            "sasl": "xoauth2",
        }
        | fields,
    )


def _stored():
    return parse_dsn(EmailHost.objects.get(key="shop").dsn)


def test_an_admin_adds_a_microsoft_365_host_with_the_fields(admin_client, db):
    response = _post(admin_client, password=SECRET)
    assert response.status_code == 302
    assert format_dsn(_stored()) == MICROSOFT


@pytest.mark.parametrize(
    ("login", "fields", "stored"),
    [
        ("microsoft_delegated", {}, MICROSOFT_DELEGATED),
        (
            "google",
            {
                "host": "smtp.gmail.com",
                "tenant": "",
                "client_id": "app-id.apps.googleusercontent.com",
            },
            GOOGLE,
        ),
    ],
)
def test_an_admin_adds_a_host_connected_with_consent(
    admin_client, db, login, fields, stored
):
    response = _post(admin_client, password=SECRET, login=login, **fields)
    assert response.status_code == 302
    assert format_dsn(_stored()) == stored


def test_the_fields_show_a_stored_login_but_never_its_secret(admin_client, email_host):
    host = email_host("shop", ANY_SERVER)
    html = admin_client.get(
        reverse("admin:email_hosts_emailhost_change", args=[host.pk])
    ).content.decode()
    assert 'value="client_credentials" selected' in html
    assert 'value="https://idp.example.com/token"' in html
    assert 'value="oauthbearer" selected' in html
    assert SECRET not in html


def test_saving_the_fields_keeps_the_login_and_its_secret(admin_client, email_host):
    host = email_host("shop", MICROSOFT)
    response = _post(admin_client, host, timeout="20")
    assert response.status_code == 302
    assert (_stored().timeout, _stored().oauth2) == (20, parse_dsn(MICROSOFT).oauth2)
    assert _stored().password == SECRET


def test_a_new_token_url_needs_the_client_secret_again(admin_client, email_host):
    # Else an admin could send the stored secret to a server of their own.
    host = email_host("shop", ANY_SERVER)
    response = _post(
        admin_client,
        host,
        host="smtp.example.com",
        login="client_credentials",
        token_url="https://attacker.example.net/token",
        scope="smtp send",
        sasl="oauthbearer",
    )
    assert response.status_code == 200
    assert "Enter the password again" in str(response.context["adminform"].form.errors)
    assert _stored().oauth2.token_url == "https://idp.example.com/token"


def test_a_login_with_missing_fields_says_which(admin_client, db):
    response = _post(admin_client, password=SECRET, tenant="", client_id="")
    errors = response.context["adminform"].form.errors
    assert errors["tenant"] == ["This login needs it."]
    assert errors["client_id"] == ["This login needs it."]
    assert SECRET not in response.content.decode()


def test_a_malformed_token_url_is_reported_on_its_field(admin_client, db):
    response = _post(
        admin_client,
        host="smtp.example.com",
        password=SECRET,
        login="client_credentials",
        token_url="http://idp.example.com/token",
    )
    assert response.context["adminform"].form.errors["token_url"] == [
        (
            "token_url must be an https:// URL without a user name or password"
            " (http:// only for a server on this machine, in tests)."
        )
    ]
