"""Deleting or renaming a host never breaks another host's backups unasked."""

from django.test.utils import override_settings
from django.urls import reverse

from email_hosts.models import EmailHost


CHANGELIST = reverse("admin:email_hosts_emailhost_changelist")


def _delete_page(admin_client, host):
    url = reverse("admin:email_hosts_emailhost_delete", args=[host.pk])
    return admin_client.get(url).content.decode()


def _chain(email_host):
    spare = email_host("spare", "console://")
    email_host("shop", "console://", backups="spare")
    email_host("club", "console://", backups="spare")
    return spare


def test_the_delete_page_names_the_hosts_that_lose_their_backup(
    admin_client, email_host
):
    page = _delete_page(admin_client, _chain(email_host))
    assert "The hosts club, shop list 'spare' as a backup." in page
    assert "nothing takes over when they fail" in page


def test_a_host_nobody_lists_is_deleted_without_a_warning(admin_client, email_host):
    _chain(email_host)
    page = _delete_page(admin_client, EmailHost.objects.get(key="shop"))
    assert "as a backup" not in page
    assert "Are you sure" in page


def test_the_delete_page_says_which_relay_from_settings_takes_over(
    admin_client, email_host, settings
):
    settings.EMAIL_HOSTS = {"spare": "smtp://other.example.net:2525"}
    page = _delete_page(admin_client, _chain(email_host))
    assert "the entry 'spare' in EMAIL_HOSTS takes its place" in page
    assert "smtp://other.example.net:2525 (no TLS) instead" in page


def test_deleting_selected_hosts_warns_only_of_the_hosts_that_stay(
    admin_client, email_host
):
    spare = _chain(email_host)
    shop = EmailHost.objects.get(key="shop")
    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [spare.pk, shop.pk]},
    )
    page = response.content.decode()
    assert "The host club lists 'spare' as a backup." in page
    assert EmailHost.objects.count() == 3  # Asked, not done.


def test_deleting_selected_hosts_still_deletes_them(admin_client, email_host):
    spare = _chain(email_host)
    admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [spare.pk], "post": "yes"},
    )
    assert sorted(EmailHost.objects.values_list("key", flat=True)) == [
        "club",
        "shop",
    ]


@override_settings(LANGUAGE_CODE="de")
def test_the_warning_is_in_the_admin_language(admin_client, email_host):
    page = _delete_page(admin_client, _chain(email_host))
    assert "Die Hosts club, shop nennen 'spare' als Ersatz-Host." in page


def test_renaming_a_host_that_others_list_as_a_backup_is_refused(
    admin_client, email_host
):
    spare = _chain(email_host)
    response = admin_client.post(
        reverse("admin:email_hosts_emailhost_change", args=[spare.pk]),
        {"key": "spare2", "kind": "console", "security": "none"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["key"] == [
        (
            "club, shop name 'spare' as their backup: keep the key, or take it out of"
            " their backups first."
        )
    ]
    assert EmailHost.objects.filter(key="spare").exists()


def test_a_host_nobody_lists_can_be_renamed(admin_client, email_host):
    _chain(email_host)
    shop = EmailHost.objects.get(key="shop")
    admin_client.post(
        reverse("admin:email_hosts_emailhost_change", args=[shop.pk]),
        {"key": "store", "kind": "console", "security": "none", "backups": "spare"},
    )
    assert EmailHost.objects.get(pk=shop.pk).key == "store"


def test_the_routing_page_shows_a_backup_that_names_no_host(admin_client, email_host):
    EmailHost.objects.bulk_create(
        [EmailHost(key="shop", dsn="console://", backups="typo")]
    )
    page = admin_client.get(
        reverse("admin:email_hosts_emailhost_routing")
    ).content.decode()
    assert "Backups that name no host" in page
    assert (
        "'shop' lists 'typo' as a backup, but no host has that key, so nothing"
        " takes over when 'shop' fails. Add a host 'typo', or take it out of the"
        " backups of 'shop'."
    ) in page.replace("&#x27;", "'")
