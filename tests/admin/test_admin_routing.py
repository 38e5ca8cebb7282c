"""The list answers "which host sends for example.com, and who takes over"."""

from django.contrib.auth.models import User
from django.test.utils import override_settings
from django.urls import reverse

from email_hosts.models import EmailHost


CHANGELIST = reverse("admin:email_hosts_emailhost_changelist")


def _by_key(key):
    return reverse("admin:email_hosts_emailhost_by_key", args=[key])


def _cells(admin_client, column):
    """Return the list's ``column`` cell of each stored host, by key."""
    response = admin_client.get(CHANGELIST)
    model_admin = response.context["cl"].model_admin
    return {
        obj.key: str(getattr(model_admin, column)(obj))
        for obj in response.context["cl"].result_list
    }


def test_the_list_shows_the_domains_each_host_sends_for(admin_client, email_host):
    email_host(
        "shop",
        "console://",
        default_from="Shop <shop@example.com>",
        sender_domains="shop.example.com, example.net",
    )
    email_host("club", "console://?_default_from_email=club%40example.org")
    cells = _cells(admin_client, "sends_for")
    assert cells["shop"] == (
        'shop.example.com, example.net, example.com <span class="quiet">'
        "(default sender)</span>"
    )
    assert cells["club"] == 'example.org <span class="quiet">(default sender)</span>'


@override_settings(EMAIL_HOSTS_FALLBACK="shop")
def test_the_fallback_host_is_marked(admin_client, email_host):
    email_host("shop", "console://")
    assert _cells(admin_client, "sends_for")["shop"] == (
        'all other senders <span class="quiet">(EMAIL_HOSTS_FALLBACK)</span>'
    )


def test_the_list_shows_backups_in_order_as_links(admin_client, email_host):
    email_host("shop", "console://", backups="spare, last")
    assert _cells(admin_client, "backups_in_order")["shop"] == (
        f'<a href="{_by_key("spare")}">spare</a> → <a href="{_by_key("last")}">last</a>'
    )


def test_a_backup_link_leads_to_the_host(admin_client, email_host, settings):
    spare = email_host("spare", "console://")
    settings.EMAIL_HOSTS = {"club": "console://"}
    change = reverse("admin:email_hosts_emailhost_change", args=[spare.pk])
    assert admin_client.get(_by_key("spare")).url == change
    assert admin_client.get(_by_key("club")).url == f"{CHANGELIST}#settings-host-club"
    response = admin_client.get(_by_key("typo"), follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "admin:email_hosts_emailhost_routing"
    )
    assert [str(m) for m in response.context["messages"]] == [
        "No email host 'typo': see the backups that name no host."
    ]


def test_hosts_from_settings_show_their_routing_too(admin_client, db, settings):
    settings.EMAIL_HOSTS = {
        "club": "console://?_sender_domains=example.org&_backups=shop"
    }
    EmailHost.objects.create(key="shop", dsn="console://")
    html = admin_client.get(CHANGELIST).content.decode()
    assert '<tr id="settings-host-club">' in html
    assert "<td>example.org</td>" in html
    assert f'<td><a href="{_by_key("shop")}">shop</a></td>' in html


def test_the_backup_links_need_a_view_permission(client, email_host):
    email_host("spare", "console://")
    client.force_login(User.objects.create_user("staff", is_staff=True))
    assert client.get(_by_key("spare")).status_code == 403
