"""
The questions an administrator opens the admin for, answered in headless
Chromium, in English and German: which host sends for a domain, who takes
over, and whether each relay works. Takes the docs' screenshots.
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from email_hosts.models import HostStatus
from tests.browsing import admin_page, browser, click, fill, messages, screenshot


pytestmark = pytest.mark.browser

__all__ = ["admin_page", "browser"]  # Fixtures, used by name.

LANGUAGES = {"en": "", "de": "-de"}


@pytest.fixture
def four_stored_and_two_from_settings(email_host, settings, smtp_server, refused_port):
    down = f"smtp://127.0.0.1:{refused_port}?timeout=2"
    email_host(
        "shop",
        smtp_server.dsn(),
        default_from="Shop <shop@example.com>",
        backups="spare",
    )
    email_host("spare", down, default_from="Spare <spare@example.com>")
    email_host(
        "newsletter",
        smtp_server.dsn(),
        default_from="News <news@example.com>",
        sender_domains="news.example.com",
        backups="club",
    )
    email_host("dev", "console://")
    settings.EMAIL_HOSTS = {
        "club": smtp_server.dsn(query="_default_from_email=club%40example.org"),
        "fallback": down,
    }
    settings.EMAIL_HOSTS_FALLBACK = "fallback"


def _whole_page(browser):
    """Widen the window to every column and lengthen it to the last row."""
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1920, min(height + 150, 1400))
    browser.execute_script("window.scrollTo(0, 0)")


def _style(browser, element, name):
    return browser.execute_script(
        "return getComputedStyle(arguments[0])[arguments[1]]", element, name
    )


def _cell_padding(browser, selector):
    return browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector(arguments[0]))"
        ".paddingLeft)",
        selector,
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_list_shows_status_routing_and_backups(
    admin_page, four_stored_and_two_from_settings, settings, language
):
    settings.LANGUAGE_CODE = language
    browser = admin_page("/admin/email_hosts/emailhost/")
    for key in ("shop", "spare"):
        browser.find_element(
            By.XPATH, f"//tr[th//a[text()='{key}']]//input[@name='_selected_action']"
        ).click()
    fill(browser, action="check_connection_action")
    click(browser, "button[name=index]")
    click(browser, "#settings-host-club button")

    statuses = {status.key: status.ok for status in HostStatus.objects.all()}
    assert statuses == {"shop": True, "spare": False, "club": True}
    row = browser.find_element(By.XPATH, "//tr[th//a[text()='spare']]").text
    assert "refused" in row or "abgelehnt" in row
    newsletter = browser.find_element(By.XPATH, "//tr[th//a[text()='newsletter']]")
    assert "news.example.com" in newsletter.text
    assert newsletter.find_element(By.LINK_TEXT, "club")
    fallback = browser.find_element(By.ID, "settings-host-fallback").text
    assert "EMAIL_HOSTS_FALLBACK" in fallback
    # The table of hosts from settings is laid out like Django's own.
    assert _cell_padding(browser, "#settings-hosts th") > 0
    assert _cell_padding(browser, "#settings-hosts td") > 0
    _whole_page(browser)
    screenshot(browser, f"admin-changelist{LANGUAGES[language]}")

    # A backup link leads to the host that takes over.
    browser.find_element(By.XPATH, "//tr[th//a[text()='shop']]").find_element(
        By.LINK_TEXT, "spare"
    ).click()
    assert browser.find_element(By.NAME, "key").get_attribute("value") == "spare"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_buttons_wait_for_unsaved_changes(
    admin_page, four_stored_and_two_from_settings, settings, language
):
    settings.LANGUAGE_CODE = language
    browser = admin_page("/admin/email_hosts/emailhost/")
    browser.find_element(By.LINK_TEXT, "shop").click()
    note = browser.find_element(By.ID, "email-hosts-unsaved")
    check = browser.find_element(By.ID, "check-connection")
    assert not note.is_displayed()
    assert check.is_enabled()
    # The buttons look like the object tools Django draws itself.
    history = browser.find_element(By.CSS_SELECTOR, ".object-tools a.historylink")
    for theme in ("light", "dark"):
        browser.execute_script(
            "document.documentElement.dataset.theme = arguments[0]", theme
        )
        for style in ("borderRadius", "backgroundColor", "color", "fontSize"):
            # Polled: the admin's buttons fade between colours.
            WebDriverWait(browser, 2).until(
                lambda browser, style=style: (
                    _style(browser, check, style) == _style(browser, history, style)
                )
            )
    browser.execute_script("document.documentElement.dataset.theme = 'auto'")
    # The security choices are our words in both languages, never Django's "-".
    security = browser.find_element(By.NAME, "security").text
    assert "-" not in security.splitlines()
    _whole_page(browser)
    screenshot(browser, f"admin-change-form{LANGUAGES[language]}")

    fill(browser, port="2526")
    assert note.is_displayed()
    assert not check.is_enabled()
    assert not browser.find_element(By.ID, "send-test-email").is_enabled()


def test_deleting_a_backup_warns_in_the_browser(
    admin_page, four_stored_and_two_from_settings
):
    browser = admin_page("/admin/email_hosts/emailhost/")
    browser.find_element(By.LINK_TEXT, "spare").click()
    click(browser, "a.deletelink")
    warning = browser.find_element(By.CSS_SELECTOR, ".messagelist .warning").text
    assert warning.startswith("The host shop lists 'spare' as a backup.")
    assert messages(browser) == [warning]
