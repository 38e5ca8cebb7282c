"""
Headless Chromium (Debian's chromium and chromium-driver) for the browser
tests: a logged-in admin on the live server, and what a user does there.

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


def screenshot(browser, name):
    if directory := os.environ.get("EMAIL_HOSTS_SCREENSHOTS"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(directory) / f"{name}.png"))


def fill(browser, **fields):
    for name, value in fields.items():
        element = browser.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)


def messages(browser):
    return [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".messagelist li")]


def click(browser, selector):
    """Click, and wait until the page the click loads has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(browser, 10).until(staleness_of(page))
