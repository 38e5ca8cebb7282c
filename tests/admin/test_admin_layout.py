"""What the admin says and where: labels, help, and forms that do not nest."""

from django.test.utils import override_settings
from django.urls import reverse


CHANGELIST = reverse("admin:email_hosts_emailhost_changelist")


def _change_page(admin_client, host):
    url = reverse("admin:email_hosts_emailhost_change", args=[host.pk])
    return admin_client.get(url).content.decode()


def test_the_kinds_name_no_port_that_the_port_field_may_contradict(
    admin_client, email_host
):
    page = _change_page(admin_client, email_host("shop", "smtp://127.0.0.1:2526"))
    assert '<option value="smtp" selected>SMTP</option>' in page
    assert "port 25)" not in page
    assert "587 for SMTP submission, 465 with SSL/TLS, 25 for SMTP" in page


@override_settings(LANGUAGE_CODE="de")
def test_the_security_choices_are_ours_in_german(admin_client, email_host):
    page = _change_page(admin_client, email_host("shop", "smtp://mx.example.com"))
    assert (
        '<option value="none" selected>Keine Verschlüsselung, für ein Relay in einem'
        " vertrauenswürdigen Netz</option>"
    ) in page


def test_help_texts_speak_to_site_admins(admin_client, email_host):
    page = _change_page(admin_client, email_host("shop", "smtp://mx.example.com"))
    for developer_speak in ("get_connection", "_default_from_email", "Power users"):
        assert developer_speak not in page
    assert "Connection string (DSN)" in page


def test_the_host_field_is_wide_enough_for_relay_names(admin_client, email_host):
    page = _change_page(admin_client, email_host("shop", "smtp://mx.example.com"))
    assert 'class="vTextField" maxlength="253" id="id_host"' in page


def test_the_change_form_brings_its_styles_and_script(admin_client, email_host):
    page = _change_page(admin_client, email_host("shop", "smtp://mx.example.com"))
    assert "email_hosts/admin.css" in page
    assert "email_hosts/change_form.js" in page
    assert '<p id="email-hosts-unsaved" class="help" hidden>' in page


def test_the_settings_table_is_outside_the_list_form(admin_client, settings, db):
    # A form inside the list's form would submit the list's form instead.
    settings.EMAIL_HOSTS = {"club": "smtp://smtp.example.org"}
    page = admin_client.get(CHANGELIST).content.decode()
    list_form_end = page.index("</form>", page.index('id="changelist-form"'))
    assert page.index('id="settings-hosts"') > list_form_end
