"""The built wheel works on its own: installed in a clean virtualenv, it
migrates, stores a host, speaks German and sends to a local SMTP server."""

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT


pytestmark = pytest.mark.wheel

SMOKE = r"""
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.messages", "django.contrib.sessions", "email_hosts"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SECRET_KEY="smoke", FERNET_KEYS=["smoke"], USE_TZ=True, USE_I18N=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    **({"MAILERS": {}} if django.VERSION >= (6, 1) else {}),
)
django.setup()

import email_hosts, socket
from aiosmtpd.controller import Controller
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.template.loader import get_template
from django.utils import translation
from email_hosts.backends import get_connection
from email_hosts.models import EmailHost

assert "site-packages" in email_hosts.__file__, email_hosts.__file__
call_command("migrate", verbosity=0)
received = []

class Handler:
    async def handle_DATA(self, server, session, envelope):
        received.append(envelope.mail_from)
        return "250 OK"

with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
try:
    EmailHost.objects.create(key="shop", dsn=f"smtp://127.0.0.1:{port}?timeout=5",
                             default_from="Shop <shop@example.com>")
    get_connection("shop").send_messages([EmailMessage("Hi", "Hello", to=["a@example.net"])])
finally:
    controller.stop()
assert received == ["shop@example.com"], received
get_template("admin/email_hosts/emailhost/change_form.html")
with translation.override("de"):
    assert str(EmailHost._meta.verbose_name) == "E-Mail-Host"
print("smoke test passed")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = outdir.glob("django_email_hosts-*.whl")
    return built


def test_the_wheel_holds_migrations_templates_static_files_and_locales(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "email_hosts/migrations/0001_initial.py",
        "email_hosts/migrations/0002_host_status.py",
        "email_hosts/templates/admin/email_hosts/emailhost/change_form.html",
        "email_hosts/templates/admin/email_hosts/emailhost/change_list.html",
        "email_hosts/templates/admin/email_hosts/emailhost/lost_backups.html",
        "email_hosts/static/email_hosts/admin.css",
        "email_hosts/static/email_hosts/change_form.js",
        "email_hosts/locale/de/LC_MESSAGES/django.mo",
        "email_hosts/locale/de/LC_MESSAGES/django.po",
    } <= names
    assert not [
        name for name in names if name.startswith(("tests/", "bench/", "demo/"))
    ]


def test_the_installed_wheel_migrates_and_sends(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(wheel), "aiosmtpd"],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [python, "-W", "error", "-c", SMOKE],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # away from the checkout, so the installed package is used
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "smoke test passed"), (
        result.stderr
    )
