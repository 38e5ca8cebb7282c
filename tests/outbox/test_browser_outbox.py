"""
An operator decides about the outbox in headless Chromium: sends a message
the relay may have again, deliberately, and cancels one that waits.
"""

import datetime

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from email_hosts.outbox.models import OutboxMessage, Status
from tests.browsing import admin_page, browser, click, messages, screenshot


pytestmark = pytest.mark.browser

__all__ = ["admin_page", "browser"]  # Fixtures, used by name.


def stored(message_id, status, **fields):
    return OutboxMessage.objects.create(
        host_key="shop",
        routed_to="shop",
        from_email="shop@example.com",
        recipients=["you@example.net"],
        pending_recipients=["you@example.net"],
        message=b"Subject: Order 12\r\n\r\nThanks\r\n",
        message_id=message_id,
        status=status,
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5),
        **fields,
    )


def choose(page, *message_ids, action):
    for message_id in message_ids:
        row = page.find_element(
            By.XPATH, f"//tr[.//*[contains(text(), '{message_id}')]]"
        )
        row.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(page.find_element(By.NAME, "action")).select_by_value(action)
    click(page, "button[name=index]")


def test_an_operator_resends_the_uncertain_message_and_cancels_the_waiting_one(
    admin_page, email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    uncertain = stored(
        "<uncertain@example.com>",
        Status.UNCERTAIN,
        attempts=1,
        last_error="the connection broke after the relay received a message",
    )
    waiting = stored("<waiting@example.com>", Status.QUEUED, attempts=2)
    page = admin_page("/admin/email_hosts/outboxmessage/?status__exact=uncertain")
    assert "the connection broke after the relay" in page.page_source
    page.set_window_size(1600, 700)
    screenshot(page, "outbox")
    choose(page, "uncertain@", action="resend")
    assert "they may get it twice" in page.page_source
    click(page, "button[value=not_accepted]")
    assert messages(page) == ["1 message was queued to be sent again."]
    # The immediate task backend delivered it on commit.
    uncertain.refresh_from_db()
    assert uncertain.status == Status.SENT
    assert len(smtp_server.envelopes) == 1

    page = admin_page("/admin/email_hosts/outboxmessage/?status__exact=queued")
    choose(page, "waiting@", action="cancel")
    assert messages(page) == ["1 queued message was cancelled."]
    waiting.refresh_from_db()
    assert waiting.status == Status.CANCELLED
