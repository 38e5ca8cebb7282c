"""
`make bench-peers`: the outbox beside django-mailer and django-post-office,
and Django's SMTP backend sending the same messages itself, in one run on
PostgreSQL, through a STARTTLS and AUTH relay on loopback and 10 ms away.

For each: the time to hand one message to the queue inside
``transaction.atomic()``; the pace of its worker through 1,000 messages
against Django's; and what a worker killed with SIGKILL in the middle of a
batch and restarted loses, sends twice, or leaves uncertain. Run with
python bench/peers.py [--quick]; it exits non-zero if the outbox misses a
target.
"""

import argparse
import collections
import contextlib
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers_settings")

import django


#: The bench's own database; the test suite's stays untouched.
DATABASE = "email_hosts_bench_peers"


def _create_database():
    """
    Create the bench's database afresh, so that its tables are those of the
    migrations in the tree, even while one of them is being written.
    """
    import psycopg  # noqa: PLC0415 -- before Django is set up

    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as db:
        db.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {DATABASE}")


_create_database()
django.setup()

from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends import smtp
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult
from mailer.backend import DbBackend
from mailer.models import Message, MessageLog
from post_office.backends import EmailBackend as PostOfficeBackend
from post_office.models import STATUS, Email

from bench.run import _pin_to, _trust_test_ca_beside_the_system, per_call_after_idle
from email_hosts.models import EmailHost
from email_hosts.outbox import OutboxBackend, tasks
from email_hosts.outbox.models import OutboxMessage, Status
from tests.conftest import free_ports


#: Milliseconds the far relay's proxy holds each packet, each way: 10 ms
#: a round trip, as a relay in another data centre nearby.
FAR_DELAY_MS = 5
#: Seconds a killed worker's service waits before it starts again
#: (systemd's RestartSec=, or a timer's period).
RESTART_SECONDS = 1.0
#: What the messages say: about the size of a password reset.
BODY = (
    "You're receiving this email because you requested a password reset for"
    " your user account at shop.example.com.\n\nPlease go to the following page"
    " and choose a new password:\n\nhttps://shop.example.com/reset/MQ/"
    "c8k2ab-0f6a1b2c3d4e5f60718293a4b5c6d7e8/\n\nYour username, in case you've"
    " forgotten: you@example.net\n\nThanks for using our site!\n\nThe"
    " shop.example.com team\n"
)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much each part of the run does: a full run, or a quick one."""

    enqueue_rounds: int
    enqueue_calls: int
    loopback_messages: int
    loopback_rounds: int
    far_messages: int
    far_rounds: int
    kill_messages: int
    kill_window: float
    startup_runs: int


FULL = Sizes(
    enqueue_rounds=9,
    enqueue_calls=40,
    loopback_messages=1000,
    loopback_rounds=3,
    far_messages=1000,
    far_rounds=1,
    kill_messages=300,
    kill_window=90,
    startup_runs=3,
)
QUICK = Sizes(
    enqueue_rounds=3,
    enqueue_calls=10,
    loopback_messages=100,
    loopback_rounds=1,
    far_messages=50,
    far_rounds=1,
    kill_messages=60,
    kill_window=20,
    startup_runs=1,
)


def _progress(text):
    """Say what the bench is doing, on stderr: a full run takes minutes."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _messages(count, tag):
    """``count`` distinct messages, each with a Message-ID the relay counts by."""
    return [
        EmailMessage(
            f"Password reset {number}",
            BODY,
            None,  # The site's DEFAULT_FROM_EMAIL, as most of a site's mail.
            ["you@example.net"],
            headers={"Message-ID": f"<{tag}.{number}@bench.example.com>"},
        )
        for number in range(count)
    ]


class Relay:
    """bench/recording_relay.py in a process of its own, on a core of its own."""

    def __init__(self, chain):
        self.port, self.far_port, self.control_port = free_ports(3)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.recording_relay", str(chain),
             str(self.port), str(self.far_port), str(self.control_port),
             str(FAR_DELAY_MS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            # No threads run yet, so preexec_fn is safe here.
            preexec_fn=lambda: _pin_to({os.cpu_count() - 1}),  # noqa: PLW1509
        )  # fmt: skip
        if self.process.stdout.readline().strip() != "ready":
            self.process.kill()
            sys.exit("bench: the recording relay did not start.")

    def command(self, line):
        with socket.create_connection(("127.0.0.1", self.control_port), 5) as sock:
            sock.sendall(f"{line}\n".encode())
            return sock.makefile().readline().strip()

    def stats(self):
        return json.loads(self.command("stats"))

    def ids(self):
        """Return the Message-IDs the relay accepted, without their brackets."""
        return {
            message_id.strip("<>") for message_id in json.loads(self.command("ids"))
        }

    def stop(self):
        self.process.terminate()
        self.process.wait()


# The peers: how each queues a message, and what its queue holds.


class Ours:
    name = "ours"

    def backend(self):
        return OutboxBackend(host="shop")

    def point_at(self, port):
        EmailHost.objects.update_or_create(
            key="shop",
            defaults={
                "dsn": f"submission://user:password@127.0.0.1:{port}?timeout=60",
                "default_from": "Shop <shop@example.com>",
            },
        )

    def clear(self):
        OutboxMessage.objects.all().delete()
        DBTaskResult.objects.all().delete()

    def queue(self, messages):
        tasks._Window.ends = -math.inf  # One run now, none deferred.
        with transaction.atomic():
            self.backend().send_messages(messages)

    def pending(self):
        done = [Status.SENT, Status.FAILED, Status.UNCERTAIN, Status.CANCELLED]
        return OutboxMessage.objects.exclude(status__in=done).count()

    def uncertain(self):
        """Return the Message-IDs of the messages left for a person to decide."""
        return {
            message_id.strip("<>")
            for message_id in OutboxMessage.objects.filter(
                status=Status.UNCERTAIN
            ).values_list("message_id", flat=True)
        }

    def left(self):
        statuses = collections.Counter(
            OutboxMessage.objects.exclude(status=Status.SENT).values_list(
                "status", flat=True
            )
        )
        tasks_left = collections.Counter(
            DBTaskResult.objects.values_list("status", flat=True)
        )
        return _counts(statuses) + f"; runs: {_counts(tasks_left)}"


class Mailer:
    name = "django-mailer"

    def backend(self):
        return DbBackend()

    def point_at(self, port):
        pass  # Through the EMAIL_* settings given to its worker.

    def clear(self):
        MessageLog.objects.all().delete()
        Message.objects.all().delete()

    def queue(self, messages):
        with transaction.atomic():
            self.backend().send_messages(messages)

    def pending(self):
        return Message.objects.count()

    def uncertain(self):
        return None  # It has no such state.

    def left(self):
        return _counts({"queued": Message.objects.count()})


class PostOffice:
    name = "django-post-office"

    def backend(self):
        return PostOfficeBackend()

    def point_at(self, port):
        pass  # Through the EMAIL_* settings given to its worker.

    def clear(self):
        Email.objects.all().delete()

    def queue(self, messages):
        with transaction.atomic():
            self.backend().send_messages(messages)

    def pending(self):
        return Email.objects.filter(status__in=[STATUS.queued, STATUS.requeued]).count()

    def uncertain(self):
        return None

    def left(self):
        names = dict(zip(STATUS, STATUS._fields, strict=True))
        return _counts(
            collections.Counter(
                names[status]
                for status in Email.objects.exclude(status=STATUS.sent).values_list(
                    "status", flat=True
                )
            )
        )


def _counts(counter):
    """Return "3 queued, 1 sending" for a count of states, or "none"."""
    text = ", ".join(f"{count} {name}" for name, count in counter.items() if count)
    return text or "none"


OURS, MAILER, POST_OFFICE = Ours(), Mailer(), PostOffice()
PEERS = [OURS, MAILER, POST_OFFICE]


@dataclasses.dataclass(frozen=True)
class Worker:
    """One way to run a peer's worker: its command and its settings."""

    label: str
    peer: object
    #: The command, for one pass that ends when the queue is empty.
    once: tuple
    #: The command as a service runs it, restarted when it ends.
    service: tuple
    settings: dict = dataclasses.field(default_factory=dict)


def _post_office(processes, threads, lock):
    how = f"{threads} threads" if processes == 1 else f"{processes} processes"
    return Worker(
        f"{POST_OFFICE.name} ({how})",
        POST_OFFICE,
        once=("send_queued_mail", "--processes", str(processes), "--lockfile", lock),
        # No worker of its own: cron, or a timer, runs the command.
        service=("send_queued_mail", "--processes", str(processes), "--lockfile", lock),
        settings={
            "POST_OFFICE": {
                "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
                "THREADS_PER_PROCESS": threads,
            }
        },
    )


def workers(directory):
    """The workers compared: ours, django-mailer's, post-office's configurations."""
    database_worker = ("db_worker", "--backend", "database", "--no-startup-delay")
    return [
        Worker(
            "ours",
            OURS,
            once=(*database_worker, "--batch", "--no-reload"),
            service=(*database_worker, "--no-reload"),
        ),
        Worker(
            "django-mailer",
            MAILER,
            once=("send_mail",),
            # Its documentation runs send_mail from cron; as often as a
            # restarted service here.
            service=("send_mail",),
            settings={"MAILER_LOCK_PATH": str(directory / "mailer")},
        ),
        _post_office(1, 5, str(directory / "post-office-1")),
        _post_office(2, 5, str(directory / "post-office-2")),
    ]


def _environment(worker, port):
    settings_ = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": "user",
        "EMAIL_HOST_PASSWORD": "password",
        "EMAIL_USE_TLS": True,
        "EMAIL_TIMEOUT": 60,
        **worker.settings,
    }
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "bench.peers_settings",
        "EMAIL_HOSTS_BENCH_SETTINGS": json.dumps(settings_),
    }


def _command(arguments):
    return [sys.executable, "-m", "django", *arguments]


def run_once(worker, port, log):
    """Run ``worker`` once, until its queue is empty; return its wall time."""
    worker.peer.point_at(port)
    with open(log, "a") as output:
        started = time.perf_counter()
        process = subprocess.run(
            _command(worker.once),
            cwd=ROOT,
            env=_environment(worker, port),
            stdout=output,
            stderr=output,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if process.returncode:
        sys.exit(f"bench: {worker.label}'s worker failed; see {log}.")
    return elapsed


# Enqueueing.


def measure_enqueue(sizes):
    """Return, per peer, the median time to queue one message in atomic()."""

    def enqueue(backend):
        def send():
            with transaction.atomic():  # As a view under ATOMIC_REQUESTS.
                send_mail("Hi", BODY, None, ["you@example.net"], connection=backend)

        return send

    sends = {peer.name: enqueue(peer.backend()) for peer in PEERS}

    def first_in_its_second():
        tasks._Window.ends = -math.inf  # As if no mail came this second.
        sends["ours"]()

    sends["ours (first in its second)"] = first_in_its_second
    statements = {}
    for name, send in sends.items():
        per_call_after_idle(send, sizes.enqueue_calls)  # Warm up.
        with CaptureQueriesContext(connection) as queries:
            send()
        statements[name] = len(queries)
    times = collections.defaultdict(list)
    names = list(sends)
    for round_number in range(sizes.enqueue_rounds):
        # Each goes first in turn: the first of a round is measurably slower.
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(per_call_after_idle(sends[name], sizes.enqueue_calls))
    for peer in PEERS:
        peer.clear()
    return {name: (statistics.median(times[name]), statements[name]) for name in names}


# Worker throughput.


@dataclasses.dataclass
class Pace:
    """A worker's time through a batch, and Django's speed over it."""

    seconds: float
    #: Django's direct time over the worker's, the median of the rounds'.
    ratio: float
    #: What starting the worker on an empty queue took, left out of ``seconds``.
    startup: float


def measure_throughput(relay, *, far, workers_, sizes, log):
    """
    Time each worker through the queued messages, and Django's SMTP backend
    sending them itself on one connection, through the relay on loopback or
    ``far`` away, in rounds in which each goes first in turn. A worker's
    time leaves out what its process takes to start and find an empty
    queue (measured first): a worker runs already.
    """
    if far:
        port, count, rounds = relay.far_port, sizes.far_messages, sizes.far_rounds
    else:
        port, count = relay.port, sizes.loopback_messages
        rounds = sizes.loopback_rounds
    startup = {}
    for worker in workers_:
        worker.peer.clear()
        startup[worker.label] = statistics.median(
            run_once(worker, port, log) for _ in range(sizes.startup_runs)
        )
    contenders = ["django", *workers_]
    times = collections.defaultdict(list)
    for round_number in range(rounds):
        where = "10 ms away" if far else "on loopback"
        _progress(f"workers, {count:,} messages {where}, round {round_number + 1}")
        shift = round_number % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            tag = f"p{port}.r{round_number}.c{contenders.index(contender)}"
            messages = _messages(count, tag)
            relay.command("reset")
            if contender == "django":
                label = "django"
                backend = smtp.EmailBackend(
                    host="127.0.0.1",
                    port=port,
                    username="user",
                    password="password",
                    use_tls=True,
                    timeout=60,
                )
                started = time.perf_counter()
                backend.send_messages(messages)
                elapsed = time.perf_counter() - started
            else:
                label = contender.label
                contender.peer.clear()
                contender.peer.queue(messages)
                elapsed = run_once(contender, port, log) - startup[label]
            stats = relay.stats()
            if stats != {"received": count, "unique": count, "twice": 0}:
                sys.exit(f"bench: {label} did not deliver each message once: {stats}")
            times[label].append(elapsed)
    django_times = times["django"]
    return statistics.median(django_times), {
        worker.label: Pace(
            statistics.median(times[worker.label]),
            statistics.median(
                d / w for d, w in zip(django_times, times[worker.label], strict=True)
            ),
            startup[worker.label],
        )
        for worker in workers_
    }


# SIGKILL.


class Service:
    """
    A worker run as systemd runs a service: started again a moment after it
    ends, and killed with its whole process group, as systemd kills a
    unit's control group.
    """

    def __init__(self, worker, port, log):
        self.worker, self.port, self.log = worker, port, log
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.process = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        with open(self.log, "a") as output:
            while not self.stopping.is_set():
                with self.lock:
                    if self.stopping.is_set():
                        break
                    self.process = subprocess.Popen(
                        _command(self.worker.service),
                        cwd=ROOT,
                        env=_environment(self.worker, self.port),
                        stdout=output,
                        stderr=output,
                        start_new_session=True,
                    )
                self.process.wait()
                self.stopping.wait(RESTART_SECONDS)

    def kill(self):
        with self.lock:
            # A group whose leader has ended and been waited for may be
            # gone, and its number another's.
            if self.process is None or self.process.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self):
        self.stopping.set()
        self.kill()
        if self.thread.is_alive():
            self.thread.join()


@dataclasses.dataclass
class KillOutcome:
    delivered: int
    #: Neither delivered nor left uncertain: lost, or stuck in the queue.
    lost: int
    #: Delivered more than once.
    twice: int
    #: Left for a person to decide (ours alone has the state), or None.
    uncertain: int | None
    #: Of those, how many the relay has.
    uncertain_delivered: int
    #: What the peer's queue holds at the end, besides what it sent.
    left: str


def measure_kill(chain, workers_, *, count, window, directory):
    """
    For each worker at once, each with a relay of its own: queue ``count``
    messages, one a transaction as requests queue them; start the worker
    as a service; kill it (SIGKILL, its process group) while the relay
    holds its reply to the message in the middle; let the service start
    it again and run for ``window`` seconds, or until its queue is done.
    """
    _progress(f"SIGKILL, {count} messages, then {window:.0f} s")
    relays = {worker.label: Relay(chain) for worker in workers_}
    services = {
        worker.label: Service(
            worker,
            relays[worker.label].port,
            directory / f"kill-{worker.peer.name}.log",
        )
        for worker in workers_
    }
    hold_at = count // 2
    try:
        for worker in workers_:
            relay = relays[worker.label]
            worker.peer.clear()
            worker.peer.point_at(relay.port)
            backend = worker.peer.backend()
            for message in _messages(count, f"kill.{worker.peer.name}"):
                with transaction.atomic():
                    backend.send_messages([message])
            relay.command("reset")
            relay.command(f"hold {hold_at}")
        for service in services.values():
            service.start()
        _kill_at_the_held_reply(services, relays, hold_at)
        deadline = time.monotonic() + window
        # Once nothing is pending, nothing more will be sent.
        while time.monotonic() < deadline and any(w.peer.pending() for w in workers_):
            time.sleep(0.5)
        for service in services.values():
            service.stop()
        return {
            worker.label: _outcome(worker, relays[worker.label], count)
            for worker in workers_
        }
    finally:
        for service in services.values():
            service.stop()
        for relay in relays.values():
            relay.stop()


def _outcome(worker, relay, count):
    delivered, uncertain = relay.ids(), worker.peer.uncertain()
    outcome = KillOutcome(
        delivered=len(delivered),
        lost=count - len(delivered | (uncertain or set())),
        twice=relay.stats()["twice"],
        uncertain=None if uncertain is None else len(uncertain),
        uncertain_delivered=len(delivered & (uncertain or set())),
        left=worker.peer.left(),
    )
    worker.peer.clear()
    return outcome


def _kill_at_the_held_reply(services, relays, hold_at, timeout=120):
    """Kill each service once its relay holds the reply to message ``hold_at``."""
    waiting = dict(services)
    deadline = time.monotonic() + timeout
    while waiting:
        if time.monotonic() > deadline:
            sys.exit(f"bench: {', '.join(waiting)} never reached message {hold_at}.")
        for label, service in list(waiting.items()):
            if relays[label].stats()["received"] >= hold_at:
                service.kill()
                relays[label].command("release")
                del waiting[label]
        time.sleep(0.02)


# The report.


def _ms(seconds):
    return f"{seconds * 1e3:,.2f} ms"


def _best_post_office(paces):
    """Return the label of post-office's configuration with the best pace."""
    return max(
        (label for label in paces if label.startswith(POST_OFFICE.name)),
        key=lambda label: paces[label].ratio,
    )


def _cells(figures, format_):
    """One cell a peer: its figure, or each of its configurations' figures."""
    cells = []
    for peer in PEERS:
        cells.append(
            ", ".join(
                format_(figure) + label.removeprefix(peer.name)
                for label, figure in figures.items()
                if label == peer.name or label.startswith(f"{peer.name} (")
            )
        )
    return cells


def _row(title, cells):
    print(f"{title:44} {cells[0]:>18} {cells[1]:>18}   {cells[2]}")


def report(enqueue, loopback, far, killed):
    """Print the figures, then the targets; return whether all are met."""
    (loopback_django, loopback_paces), (far_django, far_paces) = loopback, far
    _row("", [peer.name for peer in PEERS])
    plain = {peer.name: enqueue[peer.name] for peer in PEERS}
    _row("enqueue inside atomic(), median", _cells(plain, lambda e: _ms(e[0])))
    _row("  statements", _cells(plain, lambda e: str(e[1])))
    first = enqueue["ours (first in its second)"]
    _row("  ours, first in its second", [f"{_ms(first[0])}, {first[1]}", "", ""])
    for where, django_seconds, paces in (
        ("loopback", loopback_django, loopback_paces),
        ("10 ms away", far_django, far_paces),
    ):
        _row(f"worker vs Django, {where}", _cells(paces, lambda p: f"{p.ratio:.2f}"))
        _row(
            f"  seconds (Django: {django_seconds:.2f} s)",
            _cells(paces, lambda p: f"{p.seconds:.2f} s"),
        )
        _row("  start-up, left out", _cells(paces, lambda p: f"{p.startup:.2f} s"))
    _row(
        "SIGKILL: lost / twice / uncertain",
        _cells(
            killed,
            lambda k: (
                f"{k.lost} / {k.twice} / "
                + ("-" if k.uncertain is None else str(k.uncertain))
            ),
        ),
    )
    for label, outcome in killed.items():
        print(
            f"  {label}: {outcome.delivered} delivered"
            + (
                f", of them {outcome.uncertain_delivered} uncertain"
                if outcome.uncertain
                else ""
            )
            + f"; left: {outcome.left}"
        )

    best = _best_post_office(far_paces)
    targets = [
        (
            "enqueue: ours vs django-mailer",
            enqueue["ours"][0] / enqueue[MAILER.name][0],
            "<=",
            1.0,
        ),
        ("worker 10 ms away: ours vs Django", far_paces["ours"].ratio, ">=", 4.0),
        (
            f"worker 10 ms away: ours vs {best}",
            far_paces["ours"].ratio / far_paces[best].ratio,
            ">=",
            1.0,
        ),
        ("worker on loopback: ours vs Django", loopback_paces["ours"].ratio, ">=", 1.0),
        ("SIGKILL: ours sent twice", killed["ours"].twice, "==", 0),
    ]
    print(f"\n{'target':70} {'figure':>7}  goal     met")
    met_all = True
    for name, figure, how, goal in targets:
        met = {"<=": figure <= goal, ">=": figure >= goal, "==": figure == goal}[how]
        met_all &= met
        print(f"{name:70} {figure:7.2f}  {how} {goal:<4.2f}  {'yes' if met else 'NO'}")
    return met_all


def _versions():
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (postgresql,) = cursor.fetchone()
    packages = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("django-mailer", "django-post-office", "django-tasks-db")
    )
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, Django {django.get_version()},"
        f" PostgreSQL {postgresql.split()[0]}, {packages}"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A smoke run: too few messages for the figures to mean much.",
    )
    quick = parser.parse_args().quick
    sizes = QUICK if quick else FULL
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    directory = Path(tempfile.mkdtemp(prefix="email-hosts-bench-peers-"))
    log = directory / "workers.log"
    authority, _system_cas = _trust_test_ca_beside_the_system(directory)
    chain = authority.server_chain_path
    every = workers(directory)
    relay = Relay(chain)
    _pin_to({0})  # The bench and the workers; the relay has the other core.
    try:
        OURS.point_at(relay.port)
        _progress("enqueue")
        enqueue = measure_enqueue(sizes)
        loopback, far = (
            measure_throughput(relay, far=far, workers_=every, sizes=sizes, log=log)
            for far in (False, True)
        )
    finally:
        relay.stop()
    best_post_office = _best_post_office(far[1])
    killed = measure_kill(
        chain,
        [
            worker
            for worker in every
            if worker.label in (OURS.name, MAILER.name, best_post_office)
        ],
        count=sizes.kill_messages,
        window=sizes.kill_window,
        directory=directory,
    )
    EmailHost.objects.all().delete()
    print(f"{_versions()}\nworkers' logs: {directory}\n")
    if quick:
        print("A quick run: too few messages for the figures to mean much.\n")
    met = report(enqueue, loopback, far, killed)
    print(f"\ntook {time.monotonic() - started:.0f} s")
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
