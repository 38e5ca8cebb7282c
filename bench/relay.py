"""
The bench's relay, run in a process of its own: aiosmtpd requiring STARTTLS
and AUTH, and in front of it a proxy that delays every packet by a fixed
time each way, as a relay some milliseconds away would, and counts round
trips.

python bench/relay.py CHAIN_PEM SMTP_PORT PROXY_PORT STATS_PORT DELAY_MS
"""

import asyncio
import collections
import logging
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import AuthResult


class PipeliningSink(Sink):
    """
    Accept every message and offer PIPELINING, as Postfix, Exchange Online
    and Gmail do. aiosmtpd reads commands in order from its buffer, so it
    handles pipelined ones; it only does not say so.
    """

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 -- aiosmtpd API
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


def _accept_any_login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)


class Proxy:
    """
    Forward bytes both ways after ``delay`` seconds, in order. A round trip
    is counted each time the client speaks after the relay did, and one for
    the TCP handshake.
    """

    def __init__(self, upstream_port, delay):
        self.upstream_port = upstream_port
        self.delay = delay
        self.round_trips = 0

    async def handle(self, client_reader, client_writer):
        # The TCP handshake with a distant relay: one round trip.
        self.round_trips += 1
        await asyncio.sleep(2 * self.delay)
        relay_reader, relay_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        last = ["relay"]
        await asyncio.gather(
            self._pump(client_reader, relay_writer, "client", last),
            self._pump(relay_reader, client_writer, "relay", last),
        )

    async def _pump(self, reader, writer, side, last):
        queue = collections.deque()
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()

        async def deliver():
            while True:
                await ready.wait()
                while queue:
                    due, data = queue[0]
                    if (wait := due - loop.time()) > 0:
                        await asyncio.sleep(wait)
                    queue.popleft()
                    if data is None:
                        writer.close()
                        return
                    writer.write(data)
                ready.clear()

        sender = asyncio.create_task(deliver())
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionResetError:
                data = b""  # A client that closes without QUIT; the end all the same.
            if side == "client" and last[0] == "relay" and data:
                self.round_trips += 1
            last[0] = side
            queue.append((loop.time() + self.delay, data or None))
            ready.set()
            if not data:
                break
        await sender


async def main(chain, smtp_port, proxy_port, stats_port, delay_ms):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    controller = Controller(
        PipeliningSink(),
        hostname="127.0.0.1",
        port=smtp_port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=_accept_any_login,
    )
    controller.start()
    proxy = Proxy(smtp_port, delay_ms / 1000)
    await asyncio.start_server(proxy.handle, "127.0.0.1", proxy_port)

    async def stats(reader, writer):
        writer.write(f"{proxy.round_trips}\n".encode())
        await writer.drain()
        writer.close()

    await asyncio.start_server(stats, "127.0.0.1", stats_port)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    # aiosmtpd logs its own use of the deprecated Session.login_data on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    chain, *ports, delay = sys.argv[1:]
    asyncio.run(main(chain, *map(int, ports), float(delay)))
