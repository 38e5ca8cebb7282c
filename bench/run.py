"""
`make bench`: what resolving and sending through a host costs, side by side
with Django's own SMTP backend and with the floor, in the same run.

Every figure is the median over alternating rounds (ours, baseline, ours, ...)
so that both sides see the same machine state. Run with python bench/run.py
[--quick]; BENCH_DB=postgresql for the scale rows on PostgreSQL.
"""

import argparse
import contextlib
import dataclasses
import math
import os
import platform
import random
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django


def _create_postgresql_database():
    """Create the bench's own PostgreSQL database, so `test` stays untouched."""
    import psycopg  # noqa: PLC0415 -- only for BENCH_DB=postgresql

    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as db:
        if not db.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'email_hosts_bench'"
        ).fetchone():
            db.execute("CREATE DATABASE email_hosts_bench")


if os.environ.get("BENCH_DB") == "postgresql":
    _create_postgresql_database()
django.setup()

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends import smtp
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from speckenv_django import django_email_url

from email_hosts import encryption, hosts
from email_hosts.backends import get_connection, parse_conf
from email_hosts.encryption import fernet
from email_hosts.models import EmailHost
from email_hosts.outbox import OutboxBackend, tasks
from email_hosts.outbox.delivery import deliver_due
from email_hosts.outbox.models import OutboxMessage
from email_hosts.smtp import pool
from tests.conftest import _make_authority, free_port, free_ports


def _pin_to(cores):
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, cores)


def start_smtp_server(port):
    """
    Start aiosmtpd's Sink server, offering PIPELINING as Postfix does, in a
    process of its own, on a core of its own where there are two: a real
    relay runs on another machine, and sharing cores with the measured code
    makes the scheduler, not the code, decide the figures.
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "bench.relay.PipeliningSink"],
        cwd=ROOT,
        # No threads run yet, so preexec_fn is safe here.
        preexec_fn=lambda: _pin_to({os.cpu_count() - 1}),  # noqa: PLW1509
    )  # fmt: skip
    _pin_to({0})
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
        else:
            return server
    server.kill()
    sys.exit("bench: the SMTP server did not start.")


def per_call(function, calls):
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def per_call_after_idle(function, calls, idle=0.0005):
    """
    Time each call alone, after the relay has been idle for ``idle`` seconds,
    as between the sends of a web application. Back to back, a relay never
    sleeps, and whichever side does any work between sends pays its wake-up.
    """
    total = 0.0
    for _ in range(calls):
        time.sleep(idle)
        started = time.perf_counter()
        function()
        total += time.perf_counter() - started
    return total / calls


@dataclasses.dataclass
class Comparison:
    ours: float
    baseline: float
    #: The median of each round's ours / baseline: both ran back to back,
    #: so a drift in the machine or the relay cancels out within a round.
    ratio: float

    @classmethod
    def of(cls, pairs):
        """Return the comparison of (ours, baseline) times, one pair a round."""
        return cls(
            ours=statistics.median(o for o, _b in pairs),
            baseline=statistics.median(b for _o, b in pairs),
            ratio=statistics.median(o / b for o, b in pairs),
        )


def alternate(ours, baseline, *, calls, rounds, timer=per_call):
    """Time both in rounds in which they take turns to go first."""
    timer(ours, max(1, calls // 10))  # warm up both
    timer(baseline, max(1, calls // 10))
    pairs = []
    for round_number in range(rounds):
        # Whichever runs first in a round is measurably slower (about 2% for
        # Django against itself), so the order swaps every round.
        if round_number % 2 == 0:
            pair = (timer(ours, calls), timer(baseline, calls))
        else:
            pair = tuple(reversed((timer(baseline, calls), timer(ours, calls))))
        pairs.append(pair)
    return Comparison.of(pairs)


def _seed(count, dsn):
    EmailHost.objects.all().delete()
    EmailHost.objects.bulk_create(
        [EmailHost(key=f"filler-{number:05}", dsn=dsn) for number in range(count - 1)]
        + [EmailHost(key="shop", dsn=dsn, default_from="Shop <shop@example.com>")],
        batch_size=500,
    )


def floor_resolve(options, key="shop"):
    """One raw SELECT, one Fernet decrypt, one backend from known options."""
    table = connection.ops.quote_name(EmailHost._meta.db_table)
    sql = f"SELECT dsn FROM {table} WHERE {connection.ops.quote_name('key')} = %s"
    decryptor = fernet()

    def resolve(key=key):
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            ciphertext = bytes(cursor.fetchone()[0])
        decryptor.decrypt(ciphertext)
        return smtp.EmailBackend(alias=key, **options)

    return resolve


def version_03_resolve(dsn):
    """django-email-hosts 0.3: parse the DSN with speckenv, build the backend."""

    def resolve():
        config = django_email_url(dsn)
        return smtp.EmailBackend(
            alias="shop", **parse_conf(config), ssl_keyfile="", ssl_certfile=""
        )

    return resolve


@dataclasses.dataclass
class Row:
    figure: str
    ours: str
    baseline: str
    ratio: float
    target: str
    met: bool


def _us(seconds):
    return f"{seconds * 1e6:,.0f} µs"


def cost_row(figure, comparison, *, limit):
    """A row where lower is better: our time over the baseline's."""
    met = limit is None or comparison.ratio <= limit
    target = "info" if limit is None else f"<= {limit:.2f}"
    return Row(
        figure,
        _us(comparison.ours),
        _us(comparison.baseline),
        comparison.ratio,
        target,
        met=met,
    )


def speed_row(figure, comparison, *, floor):
    """A row where higher is better: our speed relative to the baseline's."""
    speed = 1 / comparison.ratio
    target = "info" if floor is None else f">= {floor:.2f}"
    met = floor is None or speed >= floor
    return Row(
        figure, _us(comparison.ours), _us(comparison.baseline), speed, target, met=met
    )


def bulk_row(batch, *, via, django_backend, rounds, floor):
    """Time ``batch`` in one call through the host ``shop`` against Django's."""
    return speed_row(
        f"bulk {len(batch):,}{via} vs Django",
        alternate(
            lambda: get_connection("shop").send_messages(batch),
            lambda: django_backend.send_messages(batch),
            calls=1,
            rounds=rounds,
        ),
        floor=floor,
    )


def bulk_control_row(batch, *, via, make_django_backend, rounds):
    """The noise floor of ``bulk_row``: Django against itself, timed the same way."""
    django_backend, other_django_backend = make_django_backend(), make_django_backend()
    return speed_row(
        f"control: bulk{via}, Django vs Django",
        alternate(
            lambda: other_django_backend.send_messages(batch),
            lambda: django_backend.send_messages(batch),
            calls=1,
            rounds=rounds,
        ),
        floor=None,
    )


def measure_sending(quick):
    rounds, calls = (5, 200) if quick else (15, 1000)
    port = free_port()
    server = start_smtp_server(port)
    dsn = f"smtp://127.0.0.1:{port}?timeout=5"
    known = {
        "host": "127.0.0.1",
        "port": port,
        "username": "",
        "password": "",
        "use_tls": False,
        "use_ssl": False,
        "timeout": 5,
        "ssl_keyfile": "",
        "ssl_certfile": "",
    }
    try:
        _seed(10, dsn)
        yield cost_row(
            "resolve: DB key vs floor",
            alternate(
                lambda: get_connection("shop"),
                floor_resolve(known),
                calls=calls,
                rounds=rounds,
            ),
            limit=2.0,
        )
        with override_settings(EMAIL_HOSTS={"club": dsn}):
            yield cost_row(
                "resolve: settings key vs 0.3",
                alternate(
                    lambda: get_connection("club"),
                    version_03_resolve(dsn),
                    calls=calls,
                    rounds=rounds,
                ),
                limit=None,
            )

        message = EmailMessage("Hi", "Hello", "shop@example.com", ["to@example.net"])
        batch = [message] * 1000
        bulk_rounds = 5 if quick else 15
        yield bulk_row(
            batch,
            via="",
            django_backend=smtp.EmailBackend(alias="django", **known),
            rounds=bulk_rounds,
            floor=0.98,
        )
        yield bulk_control_row(
            batch,
            via="",
            make_django_backend=lambda: smtp.EmailBackend(alias="django", **known),
            rounds=bulk_rounds,
        )
    finally:
        server.terminate()
        server.wait()


def _trust_test_ca_beside_the_system(directory):
    """
    Make every default TLS context trust the system's CA bundle and the
    bench's CA, as production trusts the system's: loading a bundle of 140
    CAs is what a new context costs, and one CA alone would hide it.
    """
    authority = _make_authority(directory, "email-hosts-bench")
    system = ssl.get_default_verify_paths().cafile
    bundle = directory / "bundle.pem"
    bundle.write_bytes(
        Path(system).read_bytes() + b"\n" + Path(authority.cert_path).read_bytes()
    )
    os.environ["SSL_CERT_FILE"] = str(bundle)
    return authority, Path(system).read_bytes().count(b"BEGIN CERTIFICATE")


def start_tls_relay(chain, delay_ms):
    """Start bench/relay.py on its own core; return it and its three ports."""
    ports = free_ports(3)
    relay = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "relay.py"), str(chain),
         *map(str, ports), str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
        # No threads run yet, so preexec_fn is safe here.
        preexec_fn=lambda: _pin_to({os.cpu_count() - 1}),  # noqa: PLW1509
    )  # fmt: skip
    _pin_to({0})
    if relay.stdout.readline().strip() != "ready":
        relay.kill()
        sys.exit("bench: the TLS relay did not start.")
    return relay, ports


def round_trips(stats_port):
    with socket.create_connection(("127.0.0.1", stats_port), timeout=5) as sock:
        return int(sock.makefile().readline())


def _django_settings(port):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER="user",
        EMAIL_HOST_PASSWORD="password",
        EMAIL_USE_TLS=True,
        EMAIL_TIMEOUT=5,
    )


def measure_tls_sending(quick):
    """A send as a request makes it: through a STARTTLS relay with AUTH."""
    directory = Path(tempfile.mkdtemp(prefix="email-hosts-bench-"))
    authority, system_cas = _trust_test_ca_beside_the_system(directory)
    relay, (port, far_port, stats_port) = start_tls_relay(
        authority.server_chain_path, delay_ms=10
    )
    rounds = 5 if quick else 9
    message = EmailMessage("Hi", "Hello", "shop@example.com", ["to@example.net"])
    try:
        _seed(10, f"submission://user:password@127.0.0.1:{port}?timeout=5")
        EmailHost.objects.create(
            key="far", dsn=f"submission://user:password@127.0.0.1:{far_port}?timeout=5"
        )
        with _django_settings(port):
            yield speed_row(
                f"send, TLS+AUTH ({system_cas + 1} CAs) vs send_mail",
                alternate(
                    lambda: get_connection("shop").send_messages([message]),
                    lambda: send_mail("Hi", "Hello", "shop@example.com", ["a@b.net"]),
                    calls=10 if quick else 40,
                    rounds=rounds,
                    timer=per_call_after_idle,
                ),
                floor=3.0,
            )
            batch = [message] * (200 if quick else 1000)
            via = " via STARTTLS"
            yield bulk_row(
                batch,
                via=via,
                django_backend=smtp.EmailBackend(),
                rounds=rounds,
                floor=1.0,
            )
            yield bulk_control_row(
                batch, via=via, make_django_backend=smtp.EmailBackend, rounds=rounds
            )
            # What pipelining is worth: the same without it.
            with override_settings(EMAIL_HOSTS_PIPELINING=False):
                yield bulk_row(
                    batch,
                    via=f"{via}, unpipelined",
                    django_backend=smtp.EmailBackend(),
                    rounds=rounds,
                    floor=None,
                )
        with _django_settings(far_port):
            yield speed_row(
                "send, TLS+AUTH, relay 20 ms away vs send_mail",
                alternate(
                    lambda: get_connection("far").send_messages([message]),
                    lambda: send_mail("Hi", "Hello", "shop@example.com", ["a@b.net"]),
                    calls=3 if quick else 5,
                    rounds=rounds,
                    timer=per_call_after_idle,
                ),
                floor=3.0,
            )
            sends = 10
            before = round_trips(stats_port)
            for _ in range(sends):
                get_connection("far").send_messages([message])
            ours = (round_trips(stats_port) - before) / sends
            before = round_trips(stats_port)
            for _ in range(sends):
                send_mail("Hi", "Hello", "shop@example.com", ["a@b.net"])
            django = (round_trips(stats_port) - before) / sends
        yield from _soak(port, message, sends=2_000 if quick else 20_000)
        yield Row(
            "round trips per message, 20 ms away",
            f"{ours:.1f}",
            f"{django:.1f}",
            django / ours,
            "ours == 2",
            # Pipelined: MAIL, RCPT and DATA at once, then the message.
            met=ours == 2,
        )
    finally:
        pool.close_all()
        relay.terminate()
        relay.wait()


def _soak(port, message, *, sends):
    """
    Send through kept connections until each has been replaced many times.
    An hour at the default limits is 12 connection lifetimes (MAX_AGE 300 s);
    with MAX_MESSAGES 100, this is sends / 100 of them.
    """
    for _ in range(sends // 10):
        get_connection("shop").send_messages([message])
    early = _rss_mib()
    for _ in range(sends - sends // 10):
        get_connection("shop").send_messages([message])
    late = _rss_mib()
    yield Row(
        f"memory: soak, {sends // 1000}k sends, {sends // 100} connections",
        f"{early:.0f} MiB",
        f"{late:.0f} MiB",
        late / early,
        "<= 1.05",
        met=late / early <= 1.05,
    )


def _seed_distinct(count):
    """``count`` hosts, each with its own relay, credentials and sender."""
    EmailHost.objects.all().delete()
    EmailHost.objects.bulk_create(
        (
            EmailHost(
                key=f"host-{number:06}",
                dsn=f"submission://user{number}:secret{number}@smtp{number % 97}"
                f".example.com?timeout=5",
                default_from=f"Shop {number} <shop{number}@example{number % 89}.com>",
            )
            for number in range(count)
        ),
        batch_size=1000,
    )


def _forget_resolved_hosts():
    hosts._encrypted_host.cache_clear()
    hosts._stored_host.cache_clear()
    encryption._decrypt.cache_clear()


def _per_key(resolve, keys, before=None):
    if before:
        before()
    started = time.perf_counter()
    for key in keys:
        resolve(key)
    return (time.perf_counter() - started) / len(keys)


def _interleaved(ours, floor, keys):
    """
    Return the time per key of ``ours`` and of ``floor``, called in turn on
    each key, taking turns to go first: each first resolve then finds the
    processor's caches as the other left them, as one does in a request
    among other work, and a drift of the machine hits both alike.
    """
    clock = time.perf_counter_ns
    totals = {ours: 0, floor: 0}
    for number, key in enumerate(keys):
        first, second = (ours, floor) if number % 2 else (floor, ours)
        started = clock()
        first(key)
        between = clock()
        second(key)
        ended = clock()
        totals[first] += between - started
        totals[second] += ended - between
    return totals[ours] / len(keys) / 1e9, totals[floor] / len(keys) / 1e9


def measure_cold_resolve(quick):
    """Resolving a key for the first time, against the floor, as hosts grow."""
    counts = (10, 10_000) if quick else (10, 10_000, 100_000)
    known = {
        "host": "smtp.example.com",
        "port": 587,
        "username": "user",
        "password": "secret",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 5,
        "ssl_keyfile": "",
        "ssl_certfile": "",
    }
    floor = floor_resolve(known)
    for count in counts:
        _seed_distinct(count)
        keys = [f"host-{number:06}" for number in range(count)]
        sample = min(count, 2000)
        # Each round resolves every chosen key once; with few hosts, more
        # rounds make as many first resolves as with many.
        rounds = max(5 if quick else 11, 2000 // sample)
        interleaved, back_to_back = [], []
        for round_number in range(rounds):
            chosen = random.Random(round_number).sample(keys, sample)
            _forget_resolved_hosts()
            interleaved.append(_interleaved(get_connection, floor, chosen))
            # The same keys one after the other, ours and the floor taking
            # turns to go first: each side then runs with the caches warm
            # from its own previous key, which favours the smaller one.
            if round_number % 2:
                floor_time = _per_key(floor, chosen)
                ours_time = _per_key(get_connection, chosen, _forget_resolved_hosts)
            else:
                ours_time = _per_key(get_connection, chosen, _forget_resolved_hosts)
                floor_time = _per_key(floor, chosen)
            back_to_back.append((ours_time, floor_time))
        for how, pairs, limit in (
            ("", interleaved, 1.5),
            (", back to back", back_to_back, None),
        ):
            yield cost_row(
                f"cold resolve ({connection.vendor}){how} vs floor, {count:,} hosts",
                Comparison.of(pairs),
                limit=limit,
            )


def _rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_memory(quick):
    """Memory after many distinct keys, and over many reused connections."""
    count = 10_000 if quick else 100_000
    _seed_distinct(count)
    keys = [f"host-{number:06}" for number in range(count)]
    for key in keys[: count // 10]:
        get_connection(key)
    early = _rss_mib()
    for key in keys:
        get_connection(key)
    late = _rss_mib()
    yield Row(
        f"memory: after {count // 10:,} vs {count:,} keys",
        f"{early:.0f} MiB",
        f"{late:.0f} MiB",
        late / early,
        "<= 1.05",
        met=late / early <= 1.05,
    )


def _by_table_size(counts, seed, measure):
    """
    Return the samples ``measure()`` gives at each table size in ``counts``,
    measured going up and down again (for example 1k, 10k, 100k, 10k, 1k)
    so that a drift of the machine cancels out. Each table is compacted
    first: rows deleted on the way down leave pages behind that a table
    that grew to its size does not have.
    """
    samples = {count: [] for count in counts}
    for count in (*counts, *reversed(counts[:-1])):
        seed(count)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")
        samples[count] += measure()
    return samples


def measure_admin(quick):
    user, _created = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    counts = (1000, 10_000) if quick else (1000, 10_000, 100_000)

    def changelist():
        for _ in range(3):  # Warm: the first requests load templates and caches.
            client.get("/admin/email_hosts/emailhost/")
        samples = []
        for _ in range(5 if quick else 10):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get("/admin/email_hosts/emailhost/")
                samples.append((time.perf_counter() - started, len(queries)))
            assert response.status_code == 200, response.status_code
        return samples

    samples = _by_table_size(
        counts,
        lambda count: _seed(count, "smtp://smtp.example.com?timeout=5"),
        changelist,
    )
    seconds = {
        count: statistics.median(s for s, _queries in samples[count])
        for count in counts
    }
    queries = {count: max(q for _s, q in samples[count]) for count in counts}
    low = counts[0]
    for count in counts[1:]:
        yield Row(
            f"admin: queries, 1,000 vs {count:,} hosts",
            str(queries[low]),
            str(queries[count]),
            queries[count] / queries[low],
            "== 1.00",
            met=queries[low] == queries[count],
        )
        yield Row(
            f"admin: time, 1,000 vs {count:,} hosts",
            f"{seconds[low] * 1e3:.1f} ms",
            f"{seconds[count] * 1e3:.1f} ms",
            seconds[count] / seconds[low],
            "<= 1.20",
            met=seconds[count] / seconds[low] <= 1.2,
        )


def measure_scale(quick):
    rounds, calls = (5, 200) if quick else (11, 1000)

    def resolves():
        get_connection("shop")  # The first resolve parses; the rest are measured.
        return [per_call(lambda: get_connection("shop"), calls) for _ in range(rounds)]

    samples = _by_table_size(
        (10, 10_000),
        lambda count: _seed(
            count, "submission://user:secret@smtp.example.com?timeout=5"
        ),
        resolves,
    )
    low, high = (statistics.median(samples[count]) for count in (10, 10_000))
    yield Row(
        f"scale ({connection.vendor}): 10 vs 10,000",
        _us(low),
        _us(high),
        high / low,
        "<= 1.20",
        met=high / low <= 1.2,
    )


def _queue_for_a_worker(messages):
    """Put ``messages`` in the outbox for host 'shop', enqueueing no run."""
    OutboxMessage.objects.all().delete()
    dummy = {"BACKEND": f"{settings.TASKS_MODULE}.backends.dummy.DummyBackend"}
    with override_settings(TASKS={"default": dummy}), transaction.atomic():
        OutboxBackend(host="shop").send_messages(messages)


def _worker_pairs(batch, django_backend, rounds):
    """Time one worker run against Django sending ``batch`` directly, in turns."""
    pairs = []
    for round_number in range(rounds):
        _queue_for_a_worker(batch)
        timed = [
            lambda: deliver_due(),  # noqa: PLW0108 -- timed as called
            lambda: django_backend.send_messages(batch),
        ]
        if round_number % 2:
            timed.reverse()
        times = [per_call(function, 1) for function in timed]
        pairs.append(tuple(times) if round_number % 2 == 0 else tuple(reversed(times)))
    return Comparison.of(pairs)


def _journal_modes(vendor):
    """
    The journal modes to measure the outbox in: on SQLite, Django's default
    rollback journal and WAL, which production SQLite sites set
    (docs/outbox.rst); one row set on other databases.
    """
    return ["delete", "wal"] if vendor == "sqlite" else [None]


@contextlib.contextmanager
def _journal_mode(mode):
    """Put the SQLite database in journal ``mode``, and back afterwards."""
    if mode is None:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA journal_mode={mode}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode={before}")


def measure_outbox(quick):
    """
    The outbox: what send_mail() through it costs a request (an INSERT of
    the message and one of the task, in the request's transaction) against
    a direct send to a relay 10 ms away; and a worker's pace against Django
    sending the same messages itself, on loopback and 10 ms away. On SQLite
    in both journal modes; the goals are PostgreSQL's and WAL's, the
    rollback journal's rows are shown as they are.
    """
    for mode in _journal_modes(connection.vendor):
        with _journal_mode(mode):
            yield from _measure_outbox(quick, mode)


def _measure_outbox(quick, mode):
    directory = Path(tempfile.mkdtemp(prefix="email-hosts-bench-"))
    authority, _system_cas = _trust_test_ca_beside_the_system(directory)
    relay, (port, far_port, _stats_port) = start_tls_relay(
        authority.server_chain_path, delay_ms=5
    )
    rounds = 5 if quick else 9
    vendor = connection.vendor + (", WAL" if mode == "wal" else "")
    # The rollback journal syncs the disk several times a commit, and a
    # worker commits once a message: shown, without a goal.
    has_goals = mode != "delete"
    message = EmailMessage("Hi", "Hello", "shop@example.com", ["to@example.net"])
    outbox = OutboxBackend(host="shop")
    queue = {"BACKEND": "django_tasks_db.DatabaseBackend"}

    def send_in_a_request():
        with transaction.atomic():  # As ATOMIC_REQUESTS has it.
            send_mail("Hi", "Hello", "shop@example.com", ["a@b.net"], connection=outbox)

    def send_first_in_its_window():
        tasks._Window.ends = -math.inf  # As if no mail came this second.
        send_in_a_request()

    try:
        _seed(10, f"submission://user:password@127.0.0.1:{port}?timeout=5")
        for figure, send, limit in [
            (
                f"outbox: send_mail() in a request ({vendor}) vs direct, 10 ms away",
                send_in_a_request,
                # The goal is PostgreSQL's.
                0.002 if connection.vendor == "postgresql" else None,
            ),
            (
                f"outbox: the same, each send first in its second ({vendor})",
                send_first_in_its_window,
                None,
            ),
        ]:
            with (
                override_settings(TASKS={"default": queue}),
                _django_settings(far_port),
            ):
                comparison = alternate(
                    send,
                    lambda: send_mail("Hi", "Hello", "shop@example.com", ["a@b.net"]),
                    calls=10 if quick else 40,
                    rounds=rounds,
                    timer=per_call_after_idle,
                )
            yield Row(
                figure,
                _us(comparison.ours),
                _us(comparison.baseline),
                1 / comparison.ratio,
                "info" if limit is None else f"< {limit * 1000:.0f} ms",
                met=limit is None or comparison.ours < limit,
            )
        with _django_settings(port):
            yield speed_row(
                f"outbox: worker ({vendor}), TLS relay on loopback vs Django",
                _worker_pairs(
                    [message] * (200 if quick else 1000), smtp.EmailBackend(), rounds
                ),
                floor=0.8 if has_goals else None,
            )
        EmailHost.objects.filter(key="shop").update(
            dsn=f"submission://user:password@127.0.0.1:{far_port}?timeout=5"
        )
        with _django_settings(far_port):
            yield speed_row(
                f"outbox: worker ({vendor}), TLS relay 10 ms away vs Django",
                _worker_pairs(
                    [message] * (50 if quick else 200), smtp.EmailBackend(), rounds
                ),
                floor=0.8 if has_goals else None,
            )
    finally:
        OutboxMessage.objects.all().delete()
        pool.close_all()
        relay.terminate()
        relay.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--quick", action="store_true", help="Fewer rounds, for a smoke run."
    )
    parser.add_argument(
        "--database-only",
        action="store_true",
        help="Only the rows that depend on the database (for PostgreSQL).",
    )
    arguments = parser.parse_args()
    call_command("migrate", verbosity=0)
    rows = (
        []
        if arguments.database_only
        else [
            *measure_sending(arguments.quick),
            *measure_tls_sending(arguments.quick),
            *measure_admin(arguments.quick),
        ]
    )
    rows += measure_cold_resolve(arguments.quick)
    rows += measure_scale(arguments.quick)
    if not arguments.database_only:
        rows += measure_memory(arguments.quick)
    # Last: the outbox's runs leave work for the garbage collector, which the
    # resolve rows would pay for.
    rows += measure_outbox(arguments.quick)
    EmailHost.objects.all().delete()
    if not arguments.database_only:
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores,"
            f" Python {platform.python_version()}, Django {django.get_version()}\n"
        )
        print(
            f"{'figure':64} {'ours':>13} {'baseline':>13} {'ratio':>7}  target    met"
        )
    for row in rows:
        print(
            f"{row.figure:64} {row.ours:>13} {row.baseline:>13} {row.ratio:7.2f}"
            f"  {row.target:8} {'yes' if row.met else 'NO'}"
        )
    if not all(row.met for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
