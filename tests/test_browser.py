"""
The admin in headless Chromium (Debian's chromium and chromium-driver),
against a live server and a real SMTP server with AUTH.

``make test-browser`` runs these; CI installs Chromium and fails without it.
Set EMAIL_HOSTS_SCREENSHOTS to a directory to keep screenshots for the docs.
"""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import PASSWORD, USERNAME


pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ]:
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def admin_page(browser, live_server, transactional_db):
    User.objects.create_superuser("admin", "admin@example.org", "admin")

    def open_page(path):
        browser.get(f"{live_server.url}{path}")
        return browser

    page = open_page("/admin/login/")
    page.find_element(By.NAME, "username").send_keys("admin")
    page.find_element(By.NAME, "password").send_keys("admin")
    page.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert page.find_element(By.ID, "user-tools")
    return open_page


def _screenshot(browser, name):
    if directory := os.environ.get("EMAIL_HOSTS_SCREENSHOTS"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(directory) / f"{name}.png"))


def _fill(browser, **fields):
    for name, value in fields.items():
        element = browser.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)


def _messages(browser):
    return [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".messagelist li")]


def _click(browser, selector):
    """Click, and wait until the page the click loads has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(browser, 10).until(staleness_of(page))


def test_add_check_and_send_through_the_admin(admin_page, smtp_server):
    browser = admin_page("/admin/email_hosts/emailhost/add/")
    _fill(
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
    _click(browser, "input[name=_continue]")
    assert "was added successfully" in _messages(browser)[0]
    assert PASSWORD not in browser.page_source
    _screenshot(browser, "admin-change-form")

    _click(browser, "#check-connection")
    assert _messages(browser) == ["Email host 'shop': the connection works."]
    assert smtp_server.envelopes == []

    _fill(browser, password="wrong-password")
    _click(browser, "input[name=_continue]")
    _click(browser, "#check-connection")
    assert _messages(browser) == [
        (
            "Email host 'shop': the server rejected the login (535). It has no"
            " backup, so mail sent through it fails until this is fixed."
        )
    ]
    assert "wrong-password" not in browser.page_source

    _fill(browser, password=PASSWORD)
    _click(browser, "input[name=_continue]")
    _click(browser, "#send-test-email")
    assert _messages(browser) == [
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
    _screenshot(browser, "admin-changelist")


def test_moving_a_stored_password_asks_for_it_in_the_browser(
    admin_page, email_host, smtp_server
):
    host = email_host("shop", smtp_server.dsn())
    browser = admin_page(f"/admin/email_hosts/emailhost/{host.pk}/change/")
    _fill(browser, host="evil.example.net")
    _click(browser, "input[name=_continue]")
    error = browser.find_element(By.CSS_SELECTOR, ".field-password .errorlist").text
    assert error.startswith("Enter the password again")
    assert PASSWORD not in browser.page_source
