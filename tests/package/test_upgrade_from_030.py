"""
django-email-hosts 0.3.0 itself, beside ours: mailers() returns what it
returned for every DSN both accept, and needs no settings to do so.
"""

import importlib.util
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import email_hosts
from email_hosts.exceptions import InvalidEmailHost


ROOT = Path(__file__).parents[2]
UPSTREAM = ROOT / ".cache" / "upstream" / "django_email_hosts-0.3.0.tar.gz"
LOCAL_SCHEMES = ("console://", "locmem://", "dummy://")

#: DSNs that 0.3.0 and this version both accept.
CORPUS = [
    "smtp://smtp.example.com",
    "smtp://smtp.example.com:2525",
    "smtp://user@smtp.example.com",
    "smtp://user:secret@smtp.example.com:25",
    "smtp://user:secret@smtp.example.com?tls",
    "smtp://user:secret@smtp.example.com?ssl",
    "smtp://user:secret@smtp.example.com:465?ssl",
    "smtp://SMTP.Example.COM",
    "smtp://[::1]:2525",
    "smtp://127.0.0.1:1025?timeout=5",
    "submission://user:secret@smtp.example.com",
    "submission://user:secret@smtp.example.com:2587",
    "submission://user:secret@smtp.example.com?ssl",
    "submission://user:secret@smtp.example.com?timeout=30",
    "submission://u%40example.com:p%40ss%3Aw%2Fo%3Frd%23@smtp.example.com",
    "submission://apikey:SG.abc-DEF_123@smtp.sendgrid.net",
    "submission://u:p@smtp.example.com?_default_from_email=shop%40example.com",
    "submission://u:p@smtp.example.com?_default_from_email=Shop%20%3Cshop%40example.com%3E",
    "submission://u:p@smtp.example.com?timeout=10&_default_from_email=a%40b.example",
    "submission://u:p@smtp.example.com?ssl_certfile=/etc/ssl/client.pem",
    "submission://u:p@smtp.example.com?ssl_certfile=/c.pem&ssl_keyfile=/k.pem",
    *LOCAL_SCHEMES,
    "console://?_default_from_email=dev%40example.com",
    "locmem://?_default_from_email=test%40example.com",
]


@pytest.fixture(scope="session")
def mailers_030(tmp_path_factory):
    """0.3.0's mailers(), loaded from its sdist as published."""
    assert UPSTREAM.exists(), f"{UPSTREAM} is missing: make test downloads it."
    with tarfile.open(UPSTREAM) as sdist:
        source = sdist.extractfile("django_email_hosts-0.3.0/email_hosts/__init__.py")
        path = tmp_path_factory.mktemp("upstream") / "email_hosts_030.py"
        path.write_bytes(source.read())
    spec = importlib.util.spec_from_file_location("email_hosts_030", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.__version__ == "0.3.0"
    return module.mailers


@pytest.mark.parametrize("dsn", CORPUS)
def test_mailers_returns_what_030_returned(mailers_030, dsn):
    ours, theirs = email_hosts.mailers({"k": dsn})["k"], mailers_030({"k": dsn})["k"]
    if dsn.startswith(LOCAL_SCHEMES):
        # The one intended difference (docs/upgrading.rst): 0.3.0 gave these
        # its SMTP backend, which cannot print or keep mail.
        assert theirs["BACKEND"] == "email_hosts.backends.EmailHostsBackend"
        assert ours["BACKEND"].startswith("email_hosts.backends._")
        ours, theirs = ours["OPTIONS"], theirs["OPTIONS"]
    assert ours == theirs
    assert [type(value) for value in _values(ours)] == [
        type(value) for value in _values(theirs)
    ]


def _values(entry):
    options = entry.get("OPTIONS", entry)
    return [options[name] for name in sorted(options)]


def test_a_new_parameter_adds_exactly_its_option(mailers_030):
    dsn = "submission://u:p@smtp.example.com"
    ours = email_hosts.mailers({"k": f"{dsn}?ssl_cafile=/etc/ssl/relay-ca.pem"})["k"]
    theirs = mailers_030({"k": dsn})["k"]
    assert ours["OPTIONS"] == theirs["OPTIONS"] | {
        "ssl_cafile": "/etc/ssl/relay-ca.pem"
    }


@pytest.mark.parametrize(
    ("dsn", "problem"),
    [
        ("smtp://smtp.example.com?timout=5", "Unknown query parameter 'timout'"),
        ("smtp://", "smtp:// needs a host"),
        ("smtp://smtp.example.com?ssl&tls", "exclude each other"),
        ("smtp://smtp.example.com?timeout=soon", "Timeout 'soon'"),
        ("smtp://smtp.example.com:abc", "not a port number"),
        ("console://smtp.example.com", "console:// takes no host"),
    ],
)
def test_dsns_030_accepted_but_could_not_use_name_the_key(dsn, problem):
    with pytest.raises(InvalidEmailHost, match=rf"^EMAIL_HOSTS\['k'\]: .*{problem}"):
        email_hosts.mailers({"k": dsn})


FRESH_PROCESS = """
import email_hosts
entries = email_hosts.mailers({"shop": "submission://u:p@smtp.example.com"})
try:
    email_hosts.mailers({"bad": "smtp://smtp.example.com?timout=5"})
except Exception as exc:
    error = str(exc)
from django.conf import settings
settings.configure()
import django
django.setup()
print(entries["shop"]["OPTIONS"]["host"], error)
"""


def test_mailers_needs_no_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", FRESH_PROCESS],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(
        "smtp.example.com EMAIL_HOSTS['bad']: Unknown query parameter 'timout'."
    )
