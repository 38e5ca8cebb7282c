"""
OAuth2 hosts without the ``oauth`` extra: a send or a connection check
says what to install, and no connection is opened.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.test.utils import override_settings

from email_hosts import diagnostics, hosts
from email_hosts.backends import get_connection


pytestmark = pytest.mark.django_db

MISSING = (
    "Email host 'shop' logs in with OAuth2, which needs Authlib:"
    ' pip install "django-email-hosts[oauth]".'
)
#: Two ways to get a token: as the app, and as a connected account.
GRANTS = [
    (
        "oauth2=client_credentials&token_url=https%3A%2F%2Fidp.example.com%2Ftoken"
        "&client_id=app"
    ),
    "oauth2=google&client_id=app.apps.googleusercontent.com",
]


def _dsn(relay, grant):
    return f"submission://shop%40example.com:secret@127.0.0.1:{relay.port}?timeout=5&{grant}"


@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.usefixtures("without_oauth_extra", "trust_test_ca")
def test_a_send_says_what_to_install_before_connecting(starttls_server, grant):
    message = EmailMessage("Hello", "Body", "shop@example.com", ["to@example.org"])
    with override_settings(EMAIL_HOSTS={"shop": _dsn(starttls_server, grant)}):
        connection = get_connection("shop", fallback=False)
        with pytest.raises(ImproperlyConfigured) as raised:
            connection.send_messages([message])
    assert (str(raised.value), starttls_server.connections) == (MISSING, 0)


@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.usefixtures("without_oauth_extra", "trust_test_ca")
def test_a_connection_check_says_what_to_install_before_connecting(
    email_host, starttls_server, grant
):
    host = hosts.from_row(email_host("shop", _dsn(starttls_server, grant)))
    outcome = diagnostics.check_connection(host)
    assert (outcome, starttls_server.connections) == (
        diagnostics.Outcome(ok=False, message=MISSING),
        0,
    )
