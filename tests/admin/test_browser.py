"""
The admin in headless Chromium (Debian's chromium and chromium-driver),
against a live server and a real SMTP server with AUTH.

``make test-browser`` runs these; CI installs Chromium and fails without it.
Set EMAIL_HOSTS_SCREENSHOTS to a directory to keep screenshots for the docs.
"""

import pytest
from selenium.webdriver.common.by import By

from tests.browsing import admin_page, browser, click, fill, messages
from tests.conftest import PASSWORD, USERNAME


__all__ = ["admin_page", "browser"]  # Fixtures, used by name.

pytestmark = pytest.mark.browser


def test_add_check_and_send_through_the_admin(admin_page, smtp_server):
    browser = admin_page("/admin/email_hosts/emailhost/add/")
    fill(
        browser,
        key="shop",
        default_from="Shop <shop@example.com>",
        kind="smtp",
        host="127.0.0.1",
        port=str(smtp_server.port),
        security="none",
        username=USERNAME,
        password=PASSWORD,
        timeout="5",
    )
    click(browser, "input[name=_continue]")
    assert "was added successfully" in messages(browser)[0]
    assert PASSWORD not in browser.page_source

    click(browser, "#check-connection")
    assert messages(browser) == ["Email host 'shop': the connection works."]
    assert smtp_server.envelopes == []

    fill(browser, password="wrong-password")
    click(browser, "input[name=_continue]")
    click(browser, "#check-connection")
    assert messages(browser) == [
        (
            "Email host 'shop': the server rejected the login (535). It has no"
            " backup, so mail sent through it fails until this is fixed."
        )
    ]
    assert "wrong-password" not in browser.page_source

    fill(browser, password=PASSWORD)
    click(browser, "input[name=_continue]")
    click(browser, "#send-test-email")
    assert messages(browser) == [
        "Email host 'shop': sent a test email to admin@example.org."
    ]
    [envelope] = smtp_server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "shop@example.com",
        ["admin@example.org"],
    )
    assert PASSWORD not in browser.page_source

    admin_page("/admin/email_hosts/emailhost/")
    assert "smtp://relay-user@127.0.0.1" in browser.page_source
    assert PASSWORD not in browser.page_source


def test_moving_a_stored_password_asks_for_it_in_the_browser(
    admin_page, email_host, smtp_server
):
    host = email_host("shop", smtp_server.dsn())
    browser = admin_page(f"/admin/email_hosts/emailhost/{host.pk}/change/")
    fill(browser, host="evil.example.net")
    click(browser, "input[name=_continue]")
    error = browser.find_element(By.CSS_SELECTOR, ".field-password .errorlist").text
    assert error.startswith("Enter the password again")
    assert PASSWORD not in browser.page_source
