"""
A run sends one host's messages over several connections at once, each
message over exactly one, within the host's limit; a relay that takes
fewer connections gets fewer, and is not taken for failing.
"""

import asyncio

import pytest

from tests.conftest import RecordingHandler
from tests.outbox.test_outbox_workers import _queue, _shell, _statuses, _subjects


#: Starts real worker processes: .ci/matrix.py runs these in some cells.
pytestmark = pytest.mark.processes


class CountingHandler(RecordingHandler):
    """Record how many sessions were open at once, at most."""

    def __init__(self, **behaviour):
        super().__init__(**behaviour)
        self.open_sessions = 0
        self.most_at_once = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        if not getattr(session, "counted", False):
            session.counted = True
            self.open_sessions += 1
            self.most_at_once = max(self.most_at_once, self.open_sessions)
        return await super().handle_EHLO(server, session, envelope, hostname, responses)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(0.01)  # A relay some milliseconds away.
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        self.open_sessions -= 1
        return "221 Bye"


class OneConnectionHandler(RecordingHandler):
    """Refuse every connection but the first, as a relay with a low limit."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        if self.connections >= 1 and not getattr(session, "first", False):
            return "421 4.7.0 Too many connections from your host"
        session.first = True
        return await super().handle_EHLO(server, session, envelope, hostname, responses)


DELIVER = """
from django.test import override_settings
from email_hosts.hosts import status
from email_hosts.outbox.delivery import deliver_due
with override_settings(EMAIL_HOSTS_OUTBOX={outbox!r}):
    deliver_due()
print("paused:", sorted(status.paused(["shop"])))
"""


@pytest.mark.parametrize("relay_pipelining", [False, True])
def test_a_run_sends_a_hosts_messages_over_several_connections_once_each(
    shared_database, smtp_server_factory
):
    relay = smtp_server_factory(handler_class=CountingHandler)
    _queue(shared_database, relay.dsn(), count=40)
    outbox = {"TASK_BACKEND": "database", "CONNECTIONS_PER_HOST": 3}
    _shell(shared_database, DELIVER.format(outbox=outbox))
    assert relay.handler.most_at_once == 3
    assert _subjects(relay) == sorted(f"Message {n}" for n in range(40))
    assert _statuses(shared_database) == ["sent"] * 40


def test_a_relay_that_takes_one_connection_gets_one_and_is_not_paused(
    shared_database, smtp_server_factory
):
    relay = smtp_server_factory(handler_class=OneConnectionHandler)
    _queue(shared_database, relay.dsn(), count=30)
    output = _shell(
        shared_database, DELIVER.format(outbox={"TASK_BACKEND": "database"})
    )
    assert output.splitlines()[-1] == "paused: []"
    assert _subjects(relay) == sorted(f"Message {n}" for n in range(30))
    assert _statuses(shared_database) == ["sent"] * 30
