"""
Connect account, end to end in headless Chromium: an administrator adds a
host that logs in with a delegated OAuth2 account, consents on a real
OAuth2 server (django-oauth-toolkit on the live server), comes back, and
sends a test email through a relay that checks the token.
"""

import pytest
from selenium.webdriver.common.by import By

from email_hosts.models import ConnectedAccount
from tests.browsing import admin_page, browser, click, fill, messages, screenshot
from tests.oauth2_relay import CLIENT_SECRET, MAILBOX


__all__ = ["admin_page", "browser"]  # Fixtures, used by name.

pytestmark = pytest.mark.browser


def _open_fieldset(browser, legend):
    """Open a collapsed fieldset, so that its fields can be typed in."""
    for summary in browser.find_elements(By.CSS_SELECTOR, "details summary"):
        if legend in summary.text:
            summary.click()


def test_an_administrator_connects_an_account_and_sends_a_test_email(
    admin_page, oauth2_server, oauth2_relay
):
    browser = admin_page("/admin/email_hosts/emailhost/add/")
    fill(
        browser,
        key="shop",
        kind="submission",
        host="127.0.0.1",
        port=str(oauth2_relay.port),
        security="starttls",
        login="authorization_code",
        username=MAILBOX,
        password=CLIENT_SECRET,
        timeout="5",
    )
    _open_fieldset(browser, "OAuth2")
    fill(
        browser,
        client_id=oauth2_server.delegated_application.client_id,
        authorize_url=f"{oauth2_server.url}/o/authorize/",
        token_url=oauth2_server.token_url,
        scope="smtp",
    )
    click(browser, "input[name=_continue]")
    assert "was added successfully" in messages(browser)[0]
    assert "Not connected: click Connect account." in browser.page_source

    click(browser, "#connect-account")
    # The OAuth2 server's own consent page.
    assert "/o/authorize/" in browser.current_url
    screenshot(browser, "connect-account-consent")
    click(browser, "input[name=allow]")

    assert messages(browser) == [
        (
            f"Email host 'shop': the account is connected, and 'shop' sends as"
            f" {MAILBOX}. Send a test email to check."
        )
    ]
    assert "Connected by admin on " in browser.page_source
    screenshot(browser, "connect-account-connected")
    account = ConnectedAccount.objects.get()
    for secret in (CLIENT_SECRET, account.refresh_token, account.access_token):
        assert secret not in browser.page_source

    click(browser, "#send-test-email")
    assert messages(browser) == [
        "Email host 'shop': sent a test email to admin@example.org."
    ]
    [envelope] = oauth2_relay.envelopes
    assert envelope.authenticated
    assert oauth2_relay.handler.logins == [("XOAUTH2", MAILBOX, True)]
