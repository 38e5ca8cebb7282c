"""
The peers bench's relay: bench/relay.py's STARTTLS and AUTH relay and delay
proxy, which also counts every message it accepts by its Message-ID and can
hold its reply to one message, as a relay that queued a message and then
stalled would.

python -m bench.recording_relay CHAIN_PEM SMTP_PORT PROXY_PORT CONTROL_PORT DELAY_MS

The control port takes one command a connection and answers one line:
``stats`` (JSON: messages received, distinct Message-IDs, Message-IDs
received more than once), ``ids`` (JSON: the distinct Message-IDs),
``reset``, ``hold N`` (hold the reply to the N-th message from the last
reset until ``release``) and ``release``.
"""

import asyncio
import collections
import json
import logging
import re
import ssl
import sys
import threading

from aiosmtpd.controller import Controller

from bench.relay import PipeliningSink, Proxy, _accept_any_login


_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class RecordingSink(PipeliningSink):
    """Count each accepted message by its Message-ID; hold one reply on demand."""

    def __init__(self):
        # The SMTP server runs in the controller's thread, the control port
        # in the main one.
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.seen = collections.Counter()
            self.received = 0
            self.hold_at = None
        self.released.set()

    def hold(self, number):
        with self.lock:
            self.hold_at = number
        self.released.clear()

    def stats(self):
        with self.lock:
            return {
                "received": self.received,
                "unique": len(self.seen),
                "twice": sum(1 for count in self.seen.values() if count > 1),
            }

    def ids(self):
        with self.lock:
            return [message_id.decode() for message_id in self.seen]

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd API
        headers = envelope.original_content.partition(b"\r\n\r\n")[0]
        found = _MESSAGE_ID.search(headers)
        with self.lock:
            self.received += 1
            self.seen[found[1] if found else b""] += 1
            held = self.received == self.hold_at
        # Accepted, and so delivered, whether or not the client hears it.
        while held and not self.released.is_set():
            await asyncio.sleep(0.01)
        return "250 OK"


async def main(chain, smtp_port, proxy_port, control_port, delay_ms):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    sink = RecordingSink()
    controller = Controller(
        sink,
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

    async def control(reader, writer):
        command, _space, argument = (
            (await reader.readline()).decode().strip().partition(" ")
        )
        if command == "stats":
            answer = json.dumps(sink.stats())
        elif command == "ids":
            answer = json.dumps(sink.ids())
        elif command == "reset":
            sink.reset()
            answer = "ok"
        elif command == "hold":
            sink.hold(int(argument))
            answer = "ok"
        elif command == "release":
            sink.released.set()
            answer = "ok"
        else:
            answer = f"unknown command {command!r}"
        writer.write(f"{answer}\n".encode())
        await writer.drain()
        writer.close()

    await asyncio.start_server(control, "127.0.0.1", control_port)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    # aiosmtpd logs its own use of the deprecated Session.login_data on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    chain, *ports, delay = sys.argv[1:]
    asyncio.run(main(chain, *map(int, ports), float(delay)))
