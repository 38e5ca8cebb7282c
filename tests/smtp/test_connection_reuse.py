"""
Connections kept open between sends: reused by the next send through the
same host, by one backend at a time, within their limits, and replaced
transparently when the relay closed them, but only before MAIL FROM.
"""

import asyncio
import os
import random
import smtplib
import threading
import time
import warnings

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.test import override_settings

from email_hosts.backends import EmailHostsBackend, backend_for, get_connection
from email_hosts.diagnostics import check_connection
from email_hosts.exceptions import DeliveryUncertain
from email_hosts.hosts import find, from_settings
from email_hosts.models import EmailHost
from email_hosts.smtp import pool
from tests.conftest import PASSWORD, USERNAME, RecordingHandler


def _message(number=0):
    return EmailMessage(
        f"Message {number}", "Hello", "shop@example.com", ["to@example.org"]
    )


def _send(key, number=0):
    return get_connection(key).send_messages([_message(number)])


def _subjects(server):
    return [
        envelope.original_content.split(b"Subject: ")[1].split(b"\r\n")[0].decode()
        for envelope in server.envelopes
    ]


class CountingHandler(RecordingHandler):
    """Counts connections and MAIL commands, per server and per connection."""

    def __init__(self, **behaviour):
        super().__init__(**behaviour)
        self.mail_commands = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 -- aiosmtpd API
        # Once per connection, also where STARTTLS makes the client say EHLO again.
        responses = await super().handle_EHLO(
            server, session, envelope, hostname, responses
        )
        self.connections -= getattr(server, "counted", False)
        server.counted = True
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802 -- aiosmtpd API
        self.mail_commands += 1
        session.mails = getattr(session, "mails", 0) + 1
        if reply := self.second_mail(server, session):
            return reply
        return await super().handle_MAIL(
            server, session, envelope, address, mail_options
        )

    def second_mail(self, server, session):
        """Override to misbehave on a connection's second MAIL FROM."""


pytestmark = pytest.mark.usefixtures("pipelined_as_offered")


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def relay_pipelining(request):
    """Every test here, with a relay that offers PIPELINING and one that does not."""
    return request.param


@pytest.fixture
def relay(smtp_server_factory, email_host):
    """A STARTTLS relay with AUTH, stored as the host ``shop``."""

    def start(handler_class=CountingHandler, **behaviour):
        server = smtp_server_factory(handler_class=handler_class, **behaviour)
        email_host("shop", server.dsn())
        return server

    return start


@pytest.fixture
def tls_relay(smtp_server_factory, email_host, test_ca, trust_test_ca):
    def start(*, implicit):
        tls = {"implicit_tls" if implicit else "tls": test_ca.server_context}
        server = smtp_server_factory(handler_class=CountingHandler, **tls)
        email_host(
            "shop", server.dsn("submission", query="ssl" if implicit else "timeout=5")
        )
        return server

    return start


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
def test_the_next_send_reuses_the_logged_in_connection(tls_relay, implicit):
    server = tls_relay(implicit=implicit)
    assert [_send("shop", number) for number in range(3)] == [1, 1, 1]
    assert _subjects(server) == ["Message 0", "Message 1", "Message 2"]
    # One greeting, TLS handshake and login for all three.
    assert server.connections == 1
    assert all(envelope.authenticated for envelope in server.envelopes)


def test_a_kept_connection_sends_only_the_message(relay):
    server = relay()
    _send("shop", 0)
    connection = pool.take("shop", get_connection("shop")._fingerprint())
    sent = []
    connection.send = lambda data, send=connection.send: (
        sent.append(data.encode() if isinstance(data, str) else data) or send(data)
    )
    pool.keep("shop", connection)
    _send("shop", 1)
    *commands, message = sent
    verbs = [
        line.split(b" ")[0].upper() for data in commands for line in data.splitlines()
    ]
    # MAIL, RCPT, DATA and the message: no EHLO, STARTTLS, AUTH or QUIT.
    assert verbs == [b"MAIL", b"RCPT", b"DATA"]
    assert message.endswith(b"Hello\r\n.\r\n")
    assert server.connections == 1


def test_two_backends_at_once_never_share_a_connection(relay):
    server = relay()
    _send("shop")
    first, second = get_connection("shop"), get_connection("shop")
    first.open()
    second.open()
    assert first.connection is not second.connection
    assert (
        first.send_messages([_message(1)]) == second.send_messages([_message(2)]) == 1
    )
    first.close()
    second.close()
    assert server.connections == 2


def test_threads_sending_at_once_deliver_each_message_once(
    settings, smtp_server_factory
):
    server = smtp_server_factory(handler_class=CountingHandler)
    settings.EMAIL_HOSTS = {"relay": server.dsn()}
    host = from_settings("relay")
    errors = []

    def send_ten(thread):
        try:
            for number in range(10):
                backend_for(host).send_messages([_message(thread * 100 + number)])
        except Exception as exc:  # noqa: BLE001 -- reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=send_ten, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(_subjects(server)) == sorted(
        f"Message {t * 100 + n}" for t in range(4) for n in range(10)
    )
    assert server.connections < 40


def test_a_child_process_never_uses_its_parents_connection(settings, relay):
    server = relay()
    settings.EMAIL_HOSTS = {"relay": server.dsn()}
    host = from_settings("relay")  # No database in the child.
    assert backend_for(host).send_messages([_message(1)]) == 1
    with warnings.catch_warnings():
        # Python 3.12+ warns that the test server's thread is not forked.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        try:
            sent = backend_for(host).send_messages([_message(2)])
        finally:
            os._exit(0 if sent == 1 and pool.idle_count() == 1 else 1)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's connection still works: the child neither used nor closed it.
    assert backend_for(host).send_messages([_message(3)]) == 1
    assert _subjects(server) == ["Message 1", "Message 2", "Message 3"]
    assert server.connections == 2


def _edit(key, dsn):
    email_host = EmailHost.objects.get(key=key)
    email_host.dsn = dsn
    email_host.save()


def test_new_credentials_never_reuse_the_old_login(relay):
    server = relay()
    _send("shop")
    _edit("shop", server.dsn(password="rotated-" + PASSWORD))
    with pytest.raises(smtplib.SMTPAuthenticationError):
        _send("shop", 1)
    assert _subjects(server) == ["Message 0"]


def test_an_edited_host_closes_the_connection_it_kept(relay):
    server = relay()
    _send("shop")
    _edit("shop", server.dsn(query="timeout=7"))
    _send("shop", 1)
    assert server.connections == 2
    assert pool.idle_count() == 1


@pytest.mark.parametrize(
    ("limit", "connections"), [({"MAX_MESSAGES": 3}, 3), ({"MAX_MESSAGES": 100}, 1)]
)
def test_a_connection_carries_at_most_max_messages(relay, limit, connections):
    server = relay()
    with override_settings(EMAIL_HOSTS_CONNECTION_REUSE=limit):
        for number in range(7):
            _send("shop", number)
    assert len(server.envelopes) == 7
    assert server.connections == connections


@pytest.mark.parametrize(
    ("elapsed", "connections"), [(4.9, 1), (5.1, 2)], ids=["within", "after"]
)
def test_a_connection_idle_past_the_timeout_is_not_reused(
    relay, monkeypatch, elapsed, connections
):
    server = relay()
    now = [1000.0]
    monkeypatch.setattr(pool, "_clock", lambda: now[0])
    _send("shop")
    now[0] += elapsed
    _send("shop", 1)
    assert server.connections == connections


def test_a_connection_older_than_max_age_is_closed_after_its_send(relay, monkeypatch):
    server = relay()
    now = [1000.0]
    monkeypatch.setattr(pool, "_clock", lambda: now[0])
    limits = {"MAX_AGE": 60, "IDLE_TIMEOUT": 100}
    with override_settings(EMAIL_HOSTS_CONNECTION_REUSE=limits):
        for number in range(5):
            _send("shop", number)
            now[0] += 25
    assert server.connections == 2


def test_the_process_keeps_at_most_max_idle_connections(
    smtp_server_factory, email_host
):
    servers = [smtp_server_factory() for _ in range(3)]
    for number, server in enumerate(servers):
        email_host(f"host-{number}", server.dsn())
    with override_settings(EMAIL_HOSTS_CONNECTION_REUSE={"MAX_IDLE_CONNECTIONS": 2}):
        for number in range(3):
            _send(f"host-{number}")
        assert pool.idle_count() == 2
        _send("host-0", 1)  # The oldest was closed to make room.
    assert [server.connections for server in servers] == [2, 1, 1]


def test_reuse_can_be_turned_off(relay):
    server = relay()
    with override_settings(EMAIL_HOSTS_CONNECTION_REUSE=False):
        for number in range(3):
            _send("shop", number)
        assert pool.idle_count() == 0
    assert server.connections == 3


@pytest.mark.parametrize(
    "setting",
    [{"IDLE": 5}, {"IDLE_TIMEOUT": 0}, {"MAX_MESSAGES": 2.5}, "yes", {"MAX_AGE": True}],
)
def test_a_malformed_reuse_setting_says_what_is_wrong(relay, setting):
    relay()
    with override_settings(EMAIL_HOSTS_CONNECTION_REUSE=setting):
        with pytest.raises(ImproperlyConfigured, match="EMAIL_HOSTS_CONNECTION_REUSE"):
            _send("shop")
        errors = [m for m in checks.run_checks() if m.id.startswith("email_hosts")]
    assert [m.id for m in errors] == ["email_hosts.E014"]


def test_a_backend_without_a_host_key_closes_its_connection(smtp_server):
    # As in 0.3 and Django: an EmailHostsBackend built directly keeps nothing.
    with warnings.catch_warnings():
        # Django 6.1 deprecates this (RemovedInDjango2028Warning); 0.3 users do it.
        warnings.filterwarnings("ignore", message="Directly creating EmailBackend")
        backend = EmailHostsBackend(
            host="127.0.0.1",
            port=smtp_server.port,
            username=USERNAME,
            password=PASSWORD,
            use_tls=False,
            use_ssl=False,
            timeout=5,
            ssl_keyfile="",
            ssl_certfile="",
        )
    backend.send_messages([_message(1)])
    backend.send_messages([_message(2)])
    assert smtp_server.connections == 2
    assert pool.idle_count() == 0


def test_checking_a_host_opens_a_new_connection(relay):
    server = relay()
    _send("shop")
    assert check_connection(find("shop")).ok
    assert server.connections == 2


# The relay closed the kept connection: the next send reconnects, before
# MAIL FROM was accepted, and delivers once.


class ClosesWithA421(CountingHandler):
    def second_mail(self, server, session):
        if session.mails == 2:
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.4.2 Idle too long, closing connection"
        return None


class VanishesAtTheSecondMail(CountingHandler):
    def second_mail(self, server, session):
        if session.mails == 2:
            server.transport.abort()
            return "250 never sent"
        return None


@pytest.mark.parametrize("handler_class", [ClosesWithA421, VanishesAtTheSecondMail])
def test_a_kept_connection_the_relay_closed_is_replaced_before_mail(
    relay, handler_class
):
    server = relay(handler_class=handler_class)
    _send("shop", 0)
    assert _send("shop", 1) == 1
    assert _subjects(server) == ["Message 0", "Message 1"]
    assert server.connections == 2


def test_a_relay_restarted_between_two_sends_is_reconnected(relay):
    server = relay()
    _send("shop", 0)
    server.restart()
    assert _send("shop", 1) == 1
    assert _subjects(server) == ["Message 0", "Message 1"]


class DropsIdleConnectionsAtRandom(CountingHandler):
    """Closes half of the connections a few milliseconds into their idle time."""

    def __init__(self, **behaviour):
        super().__init__(**behaviour)
        self.random = random.Random(1234)
        #: How many messages had arrived at each drop.
        self.dropped_after = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd API
        reply = await super().handle_DATA(server, session, envelope)
        if self.random.random() < 0.5:
            self.dropped_after.append(len(self.envelopes))
            delay = self.random.choice([0, 0.001, 0.005])
            asyncio.get_running_loop().call_later(delay, server.transport.close)
        return reply


def test_a_relay_that_drops_idle_connections_at_random_loses_nothing(relay):
    server = relay(handler_class=DropsIdleConnectionsAtRandom)
    for number in range(40):
        assert _send("shop", number) == 1
        time.sleep(0.02)  # Idle, as between the requests of a site.
    assert _subjects(server) == [f"Message {number}" for number in range(40)]
    drops_before_a_send = [n for n in server.handler.dropped_after if n < 40]
    assert 5 < len(drops_before_a_send) < 35
    # A new connection after each drop; the other sends reused theirs.
    assert server.connections == 1 + len(drops_before_a_send)


# Once the relay has accepted MAIL FROM, a failure is the answer to this
# message: it is raised, never retried on a new connection.


class DiesAfterAcceptingTheSecondMail(CountingHandler):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 -- aiosmtpd API
        if session.mails == 2:
            server.transport.abort()
        return await super().handle_RCPT(
            server, session, envelope, address, rcpt_options
        )


def test_a_connection_lost_after_mail_is_accepted_is_not_retried(relay):
    server = relay(handler_class=DiesAfterAcceptingTheSecondMail)
    _send("shop", 0)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send("shop", 1)
    assert server.handler.mail_commands == 2
    assert server.connections == 1


def test_a_kept_connection_lost_after_the_final_dot_is_never_resent(relay):
    server = relay(dies_after=2)
    _send("shop", 0)
    with pytest.raises(DeliveryUncertain):
        _send("shop", 1)
    assert _subjects(server) == ["Message 0", "Message 1"]
    assert server.handler.mail_commands == 2
    assert server.connections == 1
