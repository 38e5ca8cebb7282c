"""
A message whose final "." of DATA reached the relay is never sent again: the
relay may have queued it. Every other failure hands exactly the rest over.
"""

import logging
from email import message_from_bytes

import pytest
from django.core.mail import EmailMessage

from email_hosts.backends import get_connection
from email_hosts.exceptions import DeliveryFailed, DeliveryUncertain
from email_hosts.routing import RoutingBackend


def _messages(count):
    return [
        EmailMessage("Hi", "x", "s@example.com", [f"to{number}@example.net"])
        for number in range(count)
    ]


def _recipients(server):
    return [envelope.rcpt_tos[0] for envelope in server.envelopes]


def _message_id(envelope):
    return message_from_bytes(envelope.original_content)["Message-ID"]


pytestmark = pytest.mark.usefixtures("pipelined_as_offered")


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def relay_pipelining(request):
    """Every test here, with relays that offer PIPELINING and ones that do not."""
    return request.param


@pytest.fixture(params=["close", "hang"])
def dying_relay(request, email_host, smtp_server_factory):
    """A primary that queues 3 messages, then dies before confirming the 3rd."""
    primary = smtp_server_factory(dies_after=3, dies_how=request.param)
    backup = smtp_server_factory()
    email_host(
        "shop",
        primary.dsn(query="timeout=1"),
        default_from="s@example.com",
        backups="backup",
    )
    email_host("backup", backup.dsn())
    return primary, backup


def test_the_message_in_doubt_is_not_resent_and_the_rest_fail_over(dying_relay):
    primary, backup = dying_relay
    with pytest.raises(DeliveryUncertain):
        RoutingBackend().send_messages(_messages(10))
    assert _recipients(primary) == [
        "to0@example.net",
        "to1@example.net",
        "to2@example.net",
    ]
    assert _recipients(backup) == [f"to{number}@example.net" for number in range(3, 10)]


def test_the_error_and_the_log_name_the_message_in_doubt(dying_relay, caplog):
    primary, _backup = dying_relay
    with (
        caplog.at_level(logging.ERROR, logger="email_hosts"),
        pytest.raises(DeliveryUncertain) as excinfo,
    ):
        RoutingBackend().send_messages(_messages(10))
    in_doubt = _message_id(primary.envelopes[2])
    assert excinfo.value.message_ids == (in_doubt,)
    assert str(excinfo.value).startswith(
        "Email host 'shop': the connection broke after the relay received 1"
        f" message(s) and before it answered, so it may have accepted them: {in_doubt}."
    )
    assert in_doubt in caplog.text


def test_fail_silently_counts_what_was_confirmed_and_still_logs(dying_relay, caplog):
    primary, _backup = dying_relay
    with caplog.at_level(logging.ERROR, logger="email_hosts"):
        assert RoutingBackend(fail_silently=True).send_messages(_messages(10)) == 9
    assert _message_id(primary.envelopes[2]) in caplog.text


def test_a_named_host_reports_the_message_in_doubt(email_host, smtp_server_factory):
    relay = smtp_server_factory(dies_after=1)
    email_host("shop", relay.dsn(query="timeout=1"))
    with pytest.raises(DeliveryUncertain) as excinfo:
        get_connection("shop").send_messages(_messages(1))
    assert excinfo.value.message_ids == (_message_id(relay.envelopes[0]),)


def test_every_host_failing_is_one_error_that_lists_each(
    email_host, smtp_server_factory, refused_port
):
    email_host(
        "shop",
        f"smtp://127.0.0.1:{refused_port}?timeout=2",
        default_from="s@example.com",
        backups="spare",
    )
    wrong_password = smtp_server_factory().dsn(password="wrong")
    email_host("spare", wrong_password)
    with pytest.raises(DeliveryFailed) as excinfo:
        RoutingBackend().send_messages(_messages(2))
    assert str(excinfo.value) == (
        f"Every email host failed, 2 message(s) unsent: 'shop' (127.0.0.1:"
        f"{refused_port} refused the connection; check the host and the port);"
        " 'spare' (the server rejected the login (535))."
    )
    assert [key for key, _reason in excinfo.value.attempts] == ["shop", "spare"]


def test_a_relay_that_answers_421_after_data_is_not_in_doubt(
    email_host, smtp_server_factory
):
    # A refusal is an answer: the relay did not take the message.
    primary, backup = smtp_server_factory(shut_down_after=2), smtp_server_factory()
    email_host("shop", primary.dsn(), default_from="s@example.com", backups="backup")
    email_host("backup", backup.dsn())
    assert RoutingBackend().send_messages(_messages(4)) == 4
    assert _recipients(backup) == ["to2@example.net", "to3@example.net"]
