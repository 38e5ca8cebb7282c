"""
Command pipelining (RFC 2920): with a relay that offers it, MAIL FROM, the
RCPT TOs and DATA leave in one write. The relay receives the same message,
every refusal is reported as smtplib reports it, and the connection stays
in step for the next message.
"""

import smtplib
import time

import pytest
from aiosmtpd import smtp as aiosmtpd_smtp
from aiosmtpd.controller import Controller
from django.core import checks
from django.core.mail import EmailMessage
from django.test import override_settings

from email_hosts.backends import get_connection
from email_hosts.smtp import connections
from tests.conftest import (
    PASSWORD,
    REFUSED_RECIPIENT,
    USERNAME,
    RecordingHandler,
    free_port,
)


MESSAGE = (
    b"From: shop@example.com\r\nTo: a@example.org\r\nSubject: Dots\r\n\r\n"
    b".a line that starts with a dot\r\n..and one with two\r\n.\r\nend"
)


SHUTTING_DOWN = "421 4.3.2 Shutting down"


class RefusesSomeThings(RecordingHandler):
    """
    Refuses the sender ``blocked@example.com`` and messages about spam, and
    announces that it closes (421) at ``closing@example.com`` as sender or
    ``closing@example.org`` as recipient.
    """

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802 -- aiosmtpd API
        if address in ("blocked@example.com", "closing@example.com"):
            self.pipelined.append(bool(server._reader._buffer))
            return "550 5.7.1 Sender refused" if "blocked" in address else SHUTTING_DOWN
        return await super().handle_MAIL(
            server, session, envelope, address, mail_options
        )

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 -- aiosmtpd API
        if address == "closing@example.org":
            return SHUTTING_DOWN
        return await super().handle_RCPT(
            server, session, envelope, address, rcpt_options
        )

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd API
        if b"Subject: spam" in envelope.original_content:
            return "554 5.7.1 Message refused"
        return await super().handle_DATA(server, session, envelope)


class TakesDataWithoutRecipients(RecordingHandler):
    """
    Refuses every recipient but answers DATA with 354 all the same, as some
    relays do (RFC 2920, section 2).
    """

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 -- aiosmtpd API
        envelope.rcpt_tos.append(address)
        return "550 5.1.1 No such user"


@pytest.fixture
def relay_pipelining():
    return True


@pytest.fixture
def connect():
    """Log in to a relay with our SMTP connection class."""
    opened = []

    def connect(server):
        connection = connections.SMTP("127.0.0.1", server.port, timeout=5)
        connection.login(USERNAME, PASSWORD)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()


def _send_through(server, message):
    with connections.SMTP("127.0.0.1", server.port, timeout=5) as connection:
        connection.login(USERNAME, PASSWORD)
        return connection.sendmail("shop@example.com", ["a@example.org"], message)


def _send_calling(connection, before_message):
    """Send ``MESSAGE`` on ``connection``, calling ``before_message()`` on the way."""
    return connection.sendmail(
        "shop@example.com", ["a@example.org"], MESSAGE, before_message=before_message
    )


def _received(server):
    return [envelope.original_content for envelope in server.envelopes]


@pytest.mark.django_db
def test_a_host_whose_relay_offers_pipelining_sends_the_envelope_at_once(
    smtp_server, email_host
):
    email_host("shop", smtp_server.dsn())
    recipients = ["a@example.org", "b@example.org", "c@example.org"]
    message = EmailMessage("Hi", "Hello", "shop@example.com", recipients)
    assert get_connection("shop").send_messages([message]) == 1
    assert smtp_server.handler.pipelined == [True]
    assert smtp_server.envelopes[0].rcpt_tos == recipients
    assert b"Hello" in smtp_server.envelopes[0].original_content


@pytest.mark.parametrize("offered", [True, False], ids=["offered", "not-offered"])
def test_the_relay_receives_the_same_bytes_either_way(smtp_server_factory, offered):
    pipelining, one_by_one = smtp_server_factory(), smtp_server_factory()
    one_by_one.handler.offers_pipelining = False
    pipelining.handler.offers_pipelining = offered
    assert _send_through(pipelining, MESSAGE) == {}
    assert _send_through(one_by_one, MESSAGE) == {}
    assert pipelining.handler.pipelined == [offered]
    assert one_by_one.handler.pipelined == [False]
    received, expected = pipelining.envelopes[0], one_by_one.envelopes[0]
    assert received.original_content == expected.original_content
    assert received.original_content.endswith(b"\r\n.\r\nend\r\n")
    assert received.mail_options == expected.mail_options == [f"SIZE={len(MESSAGE)}"]


def test_setting_pipelining_off_sends_one_command_at_a_time(smtp_server):
    with override_settings(EMAIL_HOSTS_PIPELINING=False):
        _send_through(smtp_server, MESSAGE)
    assert smtp_server.handler.pipelined == [False]


def test_a_refused_recipient_is_reported_and_the_others_receive_it(
    smtp_server, connect
):
    connection = connect(smtp_server)
    refused = connection.sendmail(
        "shop@example.com", ["a@example.org", REFUSED_RECIPIENT], MESSAGE
    )
    assert refused == {REFUSED_RECIPIENT: (550, b"5.1.1 No such user")}
    assert smtp_server.envelopes[0].rcpt_tos == ["a@example.org"]


def test_every_recipient_refused_sends_nothing_and_the_next_message_goes(
    smtp_server, connect
):
    connection = connect(smtp_server)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        connection.sendmail("shop@example.com", [REFUSED_RECIPIENT], MESSAGE)
    assert refused.value.recipients == {REFUSED_RECIPIENT: (550, b"5.1.1 No such user")}
    assert connection.sendmail("shop@example.com", ["a@example.org"], MESSAGE) == {}
    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [
        ["a@example.org"]
    ]
    assert smtp_server.handler.pipelined == [True, True]


def test_a_refused_sender_is_reported_and_the_next_message_goes(
    smtp_server_factory, connect
):
    server = smtp_server_factory(handler_class=RefusesSomeThings)
    connection = connect(server)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        connection.sendmail("blocked@example.com", ["a@example.org"], MESSAGE)
    assert (refused.value.smtp_code, refused.value.sender) == (
        550,
        "blocked@example.com",
    )
    assert connection.sendmail("shop@example.com", ["b@example.org"], MESSAGE) == {}
    assert [envelope.rcpt_tos for envelope in server.envelopes] == [["b@example.org"]]
    assert server.handler.pipelined == [True, True]


def test_a_relay_closing_at_mail_from_is_reported_and_the_connection_closed(
    smtp_server_factory, connect
):
    server = smtp_server_factory(handler_class=RefusesSomeThings)
    connection = connect(server)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        connection.sendmail("closing@example.com", ["a@example.org"], MESSAGE)
    assert refused.value.smtp_code == 421
    assert connection.sock is None
    assert server.envelopes == []


def test_a_relay_closing_at_a_recipient_is_reported_and_the_connection_closed(
    smtp_server_factory, connect
):
    server = smtp_server_factory(handler_class=RefusesSomeThings)
    connection = connect(server)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        connection.sendmail(
            "shop@example.com", ["a@example.org", "closing@example.org"], MESSAGE
        )
    assert refused.value.recipients == {
        "closing@example.org": (421, b"4.3.2 Shutting down")
    }
    assert connection.sock is None
    assert server.envelopes == []


def test_a_refused_message_is_reported_and_the_next_message_goes(
    smtp_server_factory, connect
):
    server = smtp_server_factory(handler_class=RefusesSomeThings)
    connection = connect(server)
    spam = MESSAGE.replace(b"Subject: Dots", b"Subject: spam")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        connection.sendmail("shop@example.com", ["a@example.org"], spam)
    assert refused.value.smtp_code == 554
    assert connection.sendmail("shop@example.com", ["b@example.org"], MESSAGE) == {}
    assert [envelope.rcpt_tos for envelope in server.envelopes] == [["b@example.org"]]


def test_a_relay_that_takes_data_without_recipients_gets_no_message(
    smtp_server_factory, connect
):
    server = smtp_server_factory(handler_class=TakesDataWithoutRecipients)
    connection = connect(server)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        connection.sendmail("shop@example.com", ["a@example.org"], MESSAGE)
    # The DATA it took was ended at once: it holds none of the message.
    assert [envelope.original_content for envelope in server.envelopes] == [b""]
    # And the connection is still in step: RSET was answered.
    assert connection.noop()[0] == 250


def test_an_international_sender_goes_with_smtputf8(smtp_server, connect):
    connection = connect(smtp_server)
    connection.sendmail(
        "shöp@example.com", ["a@example.org"], MESSAGE, mail_options=["SMTPUTF8"]
    )
    assert smtp_server.envelopes[0].mail_from == "shöp@example.com"
    assert smtp_server.handler.pipelined == [True]


class LacksSmtputf8(RecordingHandler):
    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 -- aiosmtpd API
        responses = await super().handle_EHLO(
            server, session, envelope, hostname, responses
        )
        return [response for response in responses if "SMTPUTF8" not in response]


def test_smtputf8_without_the_relays_support_is_refused_before_sending(
    smtp_server_factory, connect
):
    server = smtp_server_factory(handler_class=LacksSmtputf8)
    connection = connect(server)
    with pytest.raises(smtplib.SMTPNotSupportedError):
        connection.sendmail(
            "shöp@example.com", ["a@example.org"], MESSAGE, mail_options=["SMTPUTF8"]
        )
    assert server.handler.pipelined == []
    assert connection.noop()[0] == 250


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_malformed_pipelining_setting_says_what_is_wrong(value):
    with override_settings(EMAIL_HOSTS_PIPELINING=value):
        errors = [e for e in checks.run_checks() if e.id == "email_hosts.E015"]
    assert [error.msg for error in errors] == [
        f"EMAIL_HOSTS_PIPELINING must be True or False, not {value!r}."
    ]


def test_a_message_given_as_text_goes_one_command_at_a_time(smtp_server, connect):
    # smtplib converts its line endings; pipelining takes the bytes Django gives.
    connect(smtp_server).sendmail("shop@example.com", ["a@example.org"], "Hi\nthere")
    assert smtp_server.handler.pipelined == [False]
    assert smtp_server.envelopes[0].original_content == b"Hi\r\nthere\r\n"


class RefusesTheDataCommand(aiosmtpd_smtp.SMTP):
    """Answers DATA itself with 451 for mail from ``later@example.com``."""

    async def smtp_DATA(self, arg):  # noqa: N802 -- aiosmtpd API
        if self.envelope.mail_from == "later@example.com":
            await self.push("451 4.3.0 Try again later")
            return
        await super().smtp_DATA(arg)


class RefusingController(Controller):
    def factory(self):
        return RefusesTheDataCommand(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def relay_refusing_data():
    handler = RecordingHandler()
    handler.offers_pipelining = True
    controller = RefusingController(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def test_a_refused_data_command_is_reported_and_the_next_message_goes(
    relay_refusing_data,
):
    with connections.SMTP("127.0.0.1", relay_refusing_data.port, timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("later@example.com", ["a@example.org"], MESSAGE)
        assert refused.value.smtp_code == 451
        # Unlike smtplib, which leaves the transaction open here: RSET first.
        assert smtp.sendmail("shop@example.com", ["b@example.org"], MESSAGE) == {}
    handler = relay_refusing_data.handler
    assert [envelope.rcpt_tos for envelope in handler.envelopes] == [["b@example.org"]]
    assert handler.pipelined == [True, True]


def test_the_relay_answers_the_envelope_while_before_message_runs(smtp_server, connect):
    connection = connect(smtp_server)
    seen = []

    def before_message():
        # The outbox records here that the message is being sent; the relay
        # takes the envelope meanwhile instead of waiting for it.
        deadline = time.monotonic() + 5
        while not smtp_server.handler.pipelined and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append((len(smtp_server.handler.pipelined), len(smtp_server.envelopes)))

    _send_calling(connection, before_message)
    assert seen == [(1, 0)]  # The envelope had arrived, the message had not.
    assert _received(smtp_server) == [MESSAGE + b"\r\n"]


def test_a_failing_before_message_sends_no_message_and_closes_the_connection(
    smtp_server, connect
):
    connection = connect(smtp_server)

    def before_message():
        raise RuntimeError("The outbox could not record the message.")

    with pytest.raises(RuntimeError):
        _send_calling(connection, before_message)
    # The relay may have said 354 to DATA: only closing ends that without
    # delivering an empty message.
    assert connection.sock is None
    _send_through(smtp_server, b"Subject: next\r\n\r\nnext")
    assert _received(smtp_server) == [b"Subject: next\r\n\r\nnext\r\n"]


@pytest.mark.parametrize("relay_pipelining", [False])
def test_without_pipelining_before_message_runs_before_mail_from(smtp_server, connect):
    connection = connect(smtp_server)
    seen = []

    def before_message():
        seen.append(len(smtp_server.handler.pipelined))
        if len(seen) == 1:
            raise RuntimeError("The outbox could not record the message.")

    with pytest.raises(RuntimeError):
        _send_calling(connection, before_message)
    # Nothing had left, so the connection carries the next message.
    _send_calling(connection, before_message)
    assert seen == [0, 0]
    assert _received(smtp_server) == [MESSAGE + b"\r\n"]
