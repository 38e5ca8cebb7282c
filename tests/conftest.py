"""
Shared fixtures: real SMTP servers on 127.0.0.1, a certificate authority made
for the test run, and a factory for stored hosts.
"""

import asyncio
import contextlib
import dataclasses
import datetime
import functools
import gc
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import connection
from django.urls import reverse

from email_hosts.hosts import status
from email_hosts.oauth2 import tokens
from email_hosts.smtp import pool


ROOT = Path(__file__).parents[1]
USERNAME = "relay-user"
PASSWORD = "s3cr3t:p@ss/word"


@dataclasses.dataclass
class CertificateAuthority:
    cert_path: str
    server_context: ssl.SSLContext
    server_chain_path: str
    #: A client certificate this CA signed, with its key, in one PEM file.
    client_chain_path: str


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca, client=False):
    # Python 3.13 verifies strictly: both key identifiers must be present.
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                signing_key.public_key()
            ),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    elif client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        ).add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256())


def _make_authority(directory, name):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(
        _name(name), _name(name), ca_key.public_key(), ca_key, ca=True
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate(
        _name("localhost"), ca_cert.subject, server_key.public_key(), ca_key, ca=False
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _certificate(
        _name("relay-client"),
        ca_cert.subject,
        client_key.public_key(),
        ca_key,
        ca=False,
        client=True,
    )
    ca_path = directory / f"{name}-ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain_path = _write_chain(directory / f"{name}-server.pem", server_key, server_cert)
    client_path = _write_chain(
        directory / f"{name}-client.pem", client_key, client_cert
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain_path)
    return CertificateAuthority(
        cert_path=str(ca_path),
        server_context=context,
        server_chain_path=str(chain_path),
        client_chain_path=str(client_path),
    )


def _write_chain(path, key, certificate):
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return path


def pytest_collection_modifyitems(config, items):
    """
    With EMAIL_HOSTS_DATABASE_TESTS_ONLY set, as the matrix sets it for its
    PostgreSQL and MariaDB runs, keep only the tests that use a database:
    the others run the same on every database, and the cell's SQLite run
    has them all.
    """
    if not os.environ.get("EMAIL_HOSTS_DATABASE_TESTS_ONLY"):
        return
    uses_database = [item for item in items if "_django_db_helper" in item.fixturenames]
    config.hook.pytest_deselected(
        items=[item for item in items if "_django_db_helper" not in item.fixturenames]
    )
    items[:] = uses_database


@contextlib.contextmanager
def thread_connections_collected():
    """
    Let the check's threads end and their connections go, in here. Django
    never closes a connection to SQLite's in-memory test database (closing
    could drop it), and Python 3.13 warns of each one when it is collected:
    when its thread ends, which may be any time from the check on.
    """
    before = set(threading.enumerate())
    with warnings.catch_warnings():
        if connection.vendor == "sqlite":
            warnings.filterwarnings("ignore", "unclosed database", ResourceWarning)
        yield
        for thread in set(threading.enumerate()) - before:
            if thread.name.startswith("ThreadPoolExecutor"):  # diagnostics.run_all's
                thread.join(timeout=10)
        gc.collect()


@pytest.fixture(autouse=True)
def _no_kept_connections():
    """
    Start and end each test without idle connections to earlier servers,
    and with no host status remembered from an earlier test.
    """
    pool.close_all()
    status.forget()
    yield
    pool.close_all()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """A CA made for this run. Only tests that use ``trust_test_ca`` trust it."""
    return _make_authority(tmp_path_factory.mktemp("ca"), "email-hosts-test")


@pytest.fixture(scope="session")
def untrusted_ca(tmp_path_factory):
    """A second CA that no test trusts."""
    return _make_authority(tmp_path_factory.mktemp("ca"), "email-hosts-untrusted")


@pytest.fixture
def trust_test_ca(test_ca, monkeypatch):
    """Make ``ssl.create_default_context()`` trust the test CA, and nothing else."""
    monkeypatch.setenv("SSL_CERT_FILE", test_ca.cert_path)
    monkeypatch.setenv("SSL_CERT_DIR", str(test_ca.cert_path) + ".none")


REFUSED_RECIPIENT = "refused@example.org"


class RecordingHandler:
    """
    Record each message. With ``shut_down_after``, refuse with 421 after that
    many. With ``dies_after``, queue that many and then, like a Postfix
    killed mid-batch, drop the connection (``"close"``) or stop answering
    (``"hang"``) before confirming the last one.
    """

    #: Whether EHLO offers PIPELINING (RFC 2920). aiosmtpd reads commands
    #: in order from its buffer, so it handles pipelined ones; it only does
    #: not say so.
    offers_pipelining = False

    def __init__(self, shut_down_after=None, dies_after=None, dies_how="close"):
        self.envelopes = []
        self.connections = 0
        self.shut_down_after = shut_down_after
        self.dies_after = dies_after
        self.dies_how = dies_how
        #: For each MAIL FROM, whether the commands after it had arrived
        #: before the relay answered it: whether the client pipelined.
        self.pipelined = []
        #: (user name, password) of each AUTH PLAIN or LOGIN it was sent.
        self.password_logins = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.connections += 1
        session.host_name = hostname
        if self.offers_pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        self.pipelined.append(bool(server._reader._buffer))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == REFUSED_RECIPIENT:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd API
        if (
            self.shut_down_after is not None
            and len(self.envelopes) >= self.shut_down_after
        ):
            return "421 4.3.2 Service shutting down"
        envelope.authenticated = session.authenticated
        self.envelopes.append(envelope)
        if len(self.envelopes) == self.dies_after:
            if self.dies_how == "hang":
                await asyncio.sleep(30)
            server.transport.abort()
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    server.event_handler.password_logins.append((auth_data.login, auth_data.password))
    success = (auth_data.login, auth_data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    # handled=False makes aiosmtpd answer a failure with 535 itself.
    return AuthResult(success=success, handled=False)


def _refusing_authenticator(answer, *_args):
    """Refuse every login with ``answer``, as Microsoft 365 does, for example."""
    return AuthResult(success=False, handled=False, message=answer)


def free_port():
    return free_ports(1)[0]


def free_ports(count):
    """Return *count* distinct free ports on 127.0.0.1.

    Each socket stays bound until all are chosen: ports picked one at a
    time can repeat, and a demo or bench given the same port twice sends
    one relay's mail to another.
    """
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclasses.dataclass
class SMTPServer:
    """A running aiosmtpd server and what it received."""

    port: int
    handler: RecordingHandler
    controller: Controller

    def restart(self):
        """Stop the server, dropping its connections, and start it again."""
        self.stop()
        self.start()

    def stop(self):
        """Stop the server, dropping its connections: an outage until start()."""
        self.controller.stop()

    def start(self):
        """Start a stopped server again on its port."""
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=self.controller.ssl_context,
            **self.controller.SMTP_kwargs,
        )
        self.controller.start()

    @property
    def envelopes(self):
        return self.handler.envelopes

    @property
    def connections(self):
        return self.handler.connections

    def dsn(self, scheme="smtp", *, password=PASSWORD, query="timeout=5"):
        credentials = f"{quote(USERNAME, safe='')}:{quote(password, safe='')}@"
        return f"{scheme}://{credentials}127.0.0.1:{self.port}?{query}"


@pytest.fixture
def relay_pipelining():
    """
    Whether the test relays offer PIPELINING. A module overrides this with
    a fixture of both values to run its tests both ways.
    """
    return False


@pytest.fixture
def pipelined_as_offered(relay_pipelining, smtp_server_factory):
    """
    For a module that runs its tests both ways: check after each test that
    every message was pipelined exactly where the relay offered it.
    """
    yield
    for server in smtp_server_factory.servers:
        assert set(server.handler.pipelined) <= {relay_pipelining}


@pytest.fixture
def smtp_server_factory(relay_pipelining):
    """Start aiosmtpd servers that require AUTH; stop them after the test."""
    servers = []

    def start(
        *,
        tls=None,
        implicit_tls=None,
        handler_class=None,
        offers_auth=True,
        refuses_login_with=None,
        **behaviour,
    ):
        handler = (handler_class or RecordingHandler)(**behaviour)
        handler.offers_pipelining = relay_pipelining
        port = free_port()
        options = {
            "authenticator": _authenticator
            if refuses_login_with is None
            else functools.partial(_refusing_authenticator, refuses_login_with)
        }
        if not offers_auth:
            # Without TLS, aiosmtpd then offers no AUTH at all.
            options = {}
        elif tls is not None:
            options |= {
                "tls_context": tls,
                "require_starttls": True,
                "auth_required": True,
            }
        else:
            # aiosmtpd sees only STARTTLS as TLS, so it cannot require AUTH
            # here; handle_DATA records whether the client authenticated.
            options["auth_require_tls"] = False
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            ssl_context=implicit_tls,
            **options,
        )
        controller.start()
        servers.append(SMTPServer(port=port, handler=handler, controller=controller))
        return servers[-1]

    start.servers = servers
    yield start
    # Idle connections kept for reuse first, so that no server waits on them.
    pool.close_all()
    for server in servers:
        server.controller.stop()


@pytest.fixture
def smtp_server(smtp_server_factory):
    """A plain SMTP server that requires AUTH."""
    return smtp_server_factory()


@pytest.fixture
def starttls_server(smtp_server_factory, test_ca):
    """A server that requires STARTTLS before AUTH, with a test CA certificate."""
    return smtp_server_factory(tls=test_ca.server_context)


@pytest.fixture
def implicit_tls_server(smtp_server_factory, test_ca):
    """A server that speaks TLS from the first byte (port 465 style)."""
    return smtp_server_factory(implicit_tls=test_ca.server_context)


@pytest.fixture
def client_certificate_server(smtp_server_factory, test_ca):
    """A STARTTLS server that requires a client certificate the test CA signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(test_ca.server_chain_path)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(test_ca.cert_path)
    return smtp_server_factory(tls=context)


class _Gate:
    """Opens once ``expected`` clients are connected at the same time."""

    def __init__(self, expected):
        self.expected = expected
        self.arrived = 0
        self.opened = asyncio.Event()


class _GatedSMTP(SMTP):
    async def _handle_client(self):
        # No gate yet for the connection Controller.start() makes itself.
        if gate := getattr(self.event_handler, "gate", None):
            gate.arrived += 1
            if gate.arrived >= gate.expected:
                gate.opened.set()
            await gate.opened.wait()
        await super()._handle_client()


class _GatedController(Controller):
    def factory(self):
        return _GatedSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def greets_three_at_once():
    """
    A server that greets nobody until three clients are connected at once,
    so that only checks that run concurrently get an answer. Returns its port.
    """
    handler = RecordingHandler()
    port = free_port()
    controller = _GatedController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.gate = _Gate(expected=3)
    yield port
    controller.stop()


@pytest.fixture
def silent_server():
    """A port that accepts connections and never sends a greeting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def refused_port():
    """
    A port on which nothing listens. It stays bound, without listening, for
    the test: a port only found free could be a relay of another test run
    by the time a test connects, and the mail would go through.
    """
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def email_host(db):
    """Create a stored host: ``email_host("shop", dsn, default_from="...")``."""
    from email_hosts.models import EmailHost  # noqa: PLC0415

    def create(key, dsn, **fields):
        return EmailHost.objects.create(key=key, dsn=dsn, **fields)

    return create


@pytest.fixture
def add_form_errors(admin_client):
    """
    POST the admin's add form for the host "shop" with ``fields`` and return
    its errors by field; saving nothing is part of every caller's check.
    """

    def post(**fields):
        response = admin_client.post(
            reverse("admin:email_hosts_emailhost_add"), {"key": "shop"} | fields
        )
        assert response.status_code == 200  # Shown again with errors, never a 500.
        return response.context["adminform"].form.errors

    return post


@pytest.fixture
def press_button(admin_client):
    """
    Click a host's admin button, ``check_connection`` or ``send_test_email``,
    and return the messages the change page then shows.
    """

    def post(email_host, action="check_connection"):
        response = admin_client.post(
            reverse(f"admin:email_hosts_emailhost_{action}", args=[email_host.pk]),
            follow=True,
        )
        assert response.status_code == 200  # Never a 500.
        return [str(message) for message in response.context["messages"]]

    return post


def process_environment(*, database, fernet_keys):
    """Return the environment for a process that uses ``database``."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EMAIL_HOSTS_TEST_DATABASE": database,
        "EMAIL_HOSTS_TEST_FERNET_KEYS": json.dumps(fernet_keys),
        "EMAIL_HOSTS_TEST_RQ_QUEUE": settings.RQ_QUEUE,
    }


def manage(*arguments, database, fernet_keys):
    """Run manage.py in a process of its own, with its own FERNET_KEYS."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "django", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env=process_environment(database=database, fernet_keys=fernet_keys),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def shared_database(tmp_path, transactional_db, request):
    """A database that other processes can open: the test database, or on
    SQLite (whose test database lives in memory) a migrated file, a copy
    of one migrated once per run."""
    if connection.vendor != "sqlite":
        return connection.settings_dict["NAME"]
    path = tmp_path / "shared.sqlite3"
    shutil.copyfile(request.getfixturevalue("_migrated_sqlite_file"), path)
    return str(path)


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory):
    """An empty SQLite file with every migration applied: a process each."""
    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    manage("migrate", "--verbosity=0", database=str(path), fernet_keys=["old-key"])
    return path


@pytest.fixture
def oauth2_server(live_server, transactional_db):
    """django-oauth-toolkit on the live server, with a mailer app."""
    from tests.oauth2_relay import start_oauth2_server  # noqa: PLC0415 -- imports this module

    tokens.forget()
    yield start_oauth2_server(live_server)
    tokens.forget()


@pytest.fixture
def oauth2_relay(smtp_server_factory, test_ca, trust_test_ca):
    """A STARTTLS relay that takes the OAuth2 server's tokens (XOAUTH2, OAUTHBEARER)."""
    from tests.oauth2_relay import OAuth2RelayHandler  # noqa: PLC0415

    return smtp_server_factory(
        tls=test_ca.server_context, handler_class=OAuth2RelayHandler
    )


@pytest.fixture
def without_oauth_extra(monkeypatch):
    """Make ``import authlib`` fail, as when the ``oauth`` extra is not installed."""
    loaded = [name for name in sys.modules if name.partition(".")[0] == "authlib"]
    for name in {"authlib", *loaded}:
        monkeypatch.setitem(sys.modules, name, None)
