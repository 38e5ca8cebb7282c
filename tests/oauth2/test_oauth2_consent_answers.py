"""
The answers to Connect account: each pending consent is kept by its state
with an expiry, so a forged, stale or repeated answer is refused without
cancelling the real one, and several consents can wait at once.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from email_hosts.admin import connect as admin_connect
from email_hosts.models import ConnectedAccount


pytestmark = pytest.mark.django_db(transaction=True)
CONNECTED = reverse("admin:email_hosts_emailhost_connected")


@pytest.fixture
def hosts_(email_host, oauth2_server, oauth2_relay):
    return [
        email_host(key, oauth2_server.delegated_dsn(oauth2_relay))
        for key in ("shop", "club")
    ]


def _ask(client, host):
    """Click Connect account and consent; return the answer's URL, unvisited."""
    answer = client.post(
        reverse("admin:email_hosts_emailhost_connect_account", args=[host.pk])
    )
    consent_page = urlsplit(answer["Location"])
    page = client.get(f"{consent_page.path}?{consent_page.query}")
    fields = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    back = urlsplit(
        client.post(consent_page.path, fields | {"allow": "Authorize"})["Location"]
    )
    return f"{back.path}?{back.query}"


def _messages(client, url):
    page = client.get(url, follow=True)
    return " ".join(str(message) for message in page.context["messages"])


def _connected():
    return sorted(ConnectedAccount.objects.values_list("host__key", flat=True))


def test_a_forged_answer_leaves_the_real_one_waiting(hosts_, admin_client):
    shop, _club = hosts_
    answer = _ask(admin_client, shop)
    forged = _messages(admin_client, f"{CONNECTED}?code=forged&state=forged")
    assert "matches no Connect account clicked in this browser" in forged
    assert "the account is connected" in _messages(admin_client, answer)
    assert _connected() == ["shop"]


def test_two_consents_can_wait_at_once(hosts_, admin_client):
    shop, club = hosts_
    first, second = _ask(admin_client, shop), _ask(admin_client, club)
    assert "'club': the account is connected" in _messages(admin_client, second)
    assert "'shop': the account is connected" in _messages(admin_client, first)
    assert _connected() == ["club", "shop"]


def test_an_answer_is_taken_once(hosts_, admin_client):
    shop, _club = hosts_
    answer = _ask(admin_client, shop)
    assert "the account is connected" in _messages(admin_client, answer)
    assert "matches no Connect account" in _messages(admin_client, answer)


def test_a_stale_answer_is_refused(hosts_, admin_client, monkeypatch):
    shop, _club = hosts_
    answer = _ask(admin_client, shop)
    later = admin_connect.time.time() + admin_connect.PENDING_SECONDS + 1
    monkeypatch.setattr(admin_connect.time, "time", lambda: later)
    assert "in the last 10 minutes" in _messages(admin_client, answer)
    assert _connected() == []


def test_an_answer_without_a_state_cancels_nothing(hosts_, admin_client):
    shop, _club = hosts_
    answer = _ask(admin_client, shop)
    state = parse_qs(urlsplit(answer).query)["state"][0]
    assert "matches no Connect account" in _messages(admin_client, CONNECTED)
    assert state in admin_client.session[admin_connect.SESSION_KEY]
    assert "the account is connected" in _messages(admin_client, answer)
