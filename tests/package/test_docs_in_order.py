"""
A newcomer who follows README.md and then the guides literally, in order,
ends with a working site: the built wheel in a clean virtualenv, a site that
``django-admin startproject mysite`` made, and every sample the docs mark
``in-order`` applied where a reader meets it, on Django 5.2 and 6.1.

A marker goes before its sample, where neither GitHub nor Sphinx shows it:
``<!-- in-order: KIND -->`` in the README, ``.. in-order: KIND`` in a page.
KIND is ``install`` (pip install lines, given the built wheel),
``settings`` (appended to settings.py), ``shell`` (commands run beside
manage.py), ``background`` (a command that keeps running, such as a worker),
``python`` (run by ``manage.py shell -c``; with ``>>>`` prompts, as a
doctest) or ``file PATH`` (saved in the project). ``django>=6.1`` after it
keeps a sample to those versions. The docs' relays all lead to the test's.
"""

import dataclasses
import glob
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import PASSWORD, ROOT, USERNAME


pytestmark = pytest.mark.wheel

DOCS = ROOT / "docs"
UV = Path(sys.executable).parent / "uv"
#: Each cell's Django, as the docs' ``django>=`` compares it, and its Python.
CELLS = {
    "django5.2-py3.11": ((5, 2), "django>=5.2,<6.0", "3.11"),
    "django6.1-py3.12": ((6, 1), "django>=6.1,<6.2", "3.12"),
}
#: The docs' accounts on their relays (``shop:secret@smtp.example.com:587``),
#: which the test replaces with its relay and the account it takes.
DOCS_RELAY = re.compile(r"\w+:secret@smtp\.example\.(?:com|org|net|info)(?::\d+)?")
MARKER = (
    r"in-order: (?P<kind>\w+)(?: (?P<path>[\w/.]+))?(?: django>=(?P<django>[\d.]+))?"
)
README_SAMPLE = re.compile(
    rf"<!-- {MARKER} -->\n```\w*\n(?P<text>.*?)^```", re.MULTILINE | re.DOTALL
)
RST_MARKER = re.compile(rf"^ *\.\. {MARKER}$")
#: What settings hold that a later sample must add to, never replace.
COLLECTIONS = ("EMAIL_HOSTS", "MAILERS", "INSTALLED_APPS")
SETTINGS_HELD = f"""\
import json, runpy
settings = runpy.run_path("mysite/settings.py")
print(json.dumps({{
    **{{name: sorted(settings.get(name, [])) for name in {COLLECTIONS}}},
    "key": (settings.get("FERNET_KEYS") or [settings["SECRET_KEY"]])[0],
}}))
"""
DOCTEST = """\
import doctest, sys
test = doctest.DocTestParser().get_doctest({text!r}, {{}}, {name!r}, None, 0)
runner = doctest.DocTestRunner()
runner.run(test)
sys.exit(runner.failures)
"""
CHECK_AND_MIGRATE = """\
from django.core.management import call_command

call_command("check", "--database", "default", "--fail-level", "WARNING")
call_command("migrate", "--verbosity", "0")
"""
ADMIN_WORKS = """\
from django.contrib.auth.models import User
from django.test import Client

client = Client(HTTP_HOST="localhost")
client.force_login(User.objects.create_superuser("newcomer", "", "x"))
response = client.get("/admin/email_hosts/emailhost/")
assert response.status_code == 200, response.status_code
"""


@dataclasses.dataclass
class Sample:
    where: str
    kind: str
    text: str
    path: str | None = None
    django: tuple | None = None


def _sample(where, match, text):
    django = match["django"]
    return Sample(
        where=where,
        kind=match["kind"],
        text=text.strip("\n") + "\n",
        path=match["path"],
        django=tuple(int(part) for part in django.split(".")) if django else None,
    )


def _readme_samples():
    text = (ROOT / "README.md").read_text()
    return [
        _sample(f"README.md:{text[: m.start()].count(chr(10)) + 1}", m, m["text"])
        for m in README_SAMPLE.finditer(text)
    ]


def _page_samples(page):
    lines = page.read_text().splitlines()
    return [
        _sample(f"docs/{page.name}:{number + 1}", match, _rst_block(lines, number + 1))
        for number, line in enumerate(lines)
        if (match := RST_MARKER.match(line))
    ]


def _rst_block(lines, start):
    """Return the first literal block from ``lines[start]`` on, as Sphinx shows it."""
    for number in range(start, len(lines)):
        line = lines[number].strip()
        if line.startswith(".. literalinclude::"):
            path = DOCS / line.removeprefix(".. literalinclude::").strip()
            return _included(path, dict(_options(lines, number + 1)))
        if line.startswith(".. code-block::") or (
            line.endswith("::") and not line.startswith("..")
        ):
            return _indented(lines, number)
    raise AssertionError(f"No literal block after line {start} of the page.")


def _options(lines, number):
    """Yield a directive's options, the lines below it up to a blank one."""
    while number < len(lines) and lines[number].strip():
        name, value = re.fullmatch(r"\s+:([\w-]+):(.*)", lines[number]).groups()
        yield name, value.strip()
        number += 1


def _indented(lines, number):
    """Return the block indented under ``lines[number]`` (after its options)."""
    indent = len(lines[number]) - len(lines[number].lstrip())
    number += 1 + len(list(_options(lines, number + 1)))
    block = []
    for line in lines[number:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def _included(path, options):
    """Apply the options of literalinclude that the docs use, and no others."""
    unknown = set(options) - {"language", "start-after", "end-before"}
    assert not unknown, f"{path.name}: teach this test literalinclude's {unknown}"
    lines = path.read_text().splitlines()
    if after := options.get("start-after"):
        lines = lines[[after in line for line in lines].index(True) + 1 :]
    if before := options.get("end-before"):
        lines = lines[: [before in line for line in lines].index(True)]
    return "\n".join(lines)


def reading_order():
    """Yield (page, samples): the README, then the pages index.rst lists."""
    yield "README.md", _readme_samples()
    toctree = (DOCS / "index.rst").read_text().split(".. toctree::")[1]
    for name in re.findall(r"^   (\w+)$", toctree, re.MULTILINE):
        if samples := _page_samples(DOCS / f"{name}.rst"):
            yield f"docs/{name}.rst", samples


def _interpreter(version):
    """Return a Python ``version``; a missing one fails, never skips, the cell."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(
        glob.glob(f"{pyenv}/versions/{version}.*/bin/python")
        + glob.glob(f"/usr/bin/python{version}")
        + glob.glob(f"/usr/local/bin/python{version}")
    )
    if not found:
        pytest.fail(
            f"Python {version} is missing: install it (pyenv install {version})."
        )
    return found[-1]


class Site:
    """A newcomer's virtualenv and, once Django is installed, their project."""

    def __init__(self, directory, *, wheel, cell, relay, ca):
        self.django, self.django_requirement, python = CELLS[cell]
        self.directory = directory
        self.wheel = wheel
        self.relay = relay
        self.venv = directory / "venv"
        self.project = directory / "mysite"
        self.background = []
        #: For uv, which reaches PyPI through the system's CAs.
        self.tools_env = {
            name: value
            for name, value in os.environ.items()
            if name not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
        } | {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "VIRTUAL_ENV": str(self.venv),
            "UV_PYTHON_DOWNLOADS": "never",
        }
        #: For the site: it trusts the relay's CA alone, as trust_test_ca
        #: makes the tests do, keeps its bytecode from one command to the
        #: next, and fails on every warning.
        self.env = {
            name: value
            for name, value in self.tools_env.items()
            if name != "PYTHONDONTWRITEBYTECODE"
        } | {
            "SSL_CERT_FILE": ca.cert_path,
            "SSL_CERT_DIR": f"{ca.cert_path}.none",
            "PYTHONWARNINGS": "error",
            # docs/operations.rst asks the reader to set it, and the next.
            "NEW_FERNET_KEY": "a-new-long-random-key-for-the-rotation",
        }
        self.uv("venv", "--quiet", "--python", _interpreter(python), self.venv)

    def run(self, args, *, where, cwd=None, env=None):
        result = subprocess.run(
            args,
            cwd=cwd or self.directory,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, (
            f"{where}: {args[-1]}\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    def uv(self, *args, where="uv"):
        self.run([UV, *args], where=where, env=self.tools_env)

    def manage(self, *args, where):
        return self.run(["python", "manage.py", *args], where=where, cwd=self.project)

    def start_project(self):
        self.run(["django-admin", "startproject", "mysite"], where="startproject")

    def settings_held(self):
        """Return the keys of the COLLECTIONS, and the key that encrypts."""
        script = ["python", "-c", SETTINGS_HELD]
        return json.loads(self.run(script, where="settings.py", cwd=self.project))

    def apply(self, sample):
        """Do what ``sample`` tells a reader to do."""
        if sample.django and self.django < sample.django:
            return
        text = DOCS_RELAY.sub(
            f"{USERNAME}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.relay.port}",
            sample.text,
        )
        if sample.kind == "install":
            self.install(text, where=sample.where)
        elif sample.kind == "settings":
            with (self.project / "mysite" / "settings.py").open("a") as settings:
                settings.write(f"\n\n{text}")
        elif sample.kind == "file":
            (self.project / sample.path).write_text(text)
        elif sample.kind == "shell":
            command = ["bash", "-euo", "pipefail", "-c", text]
            self.run(command, where=sample.where, cwd=self.project)
        elif sample.kind == "background":
            with (self.directory / "background.log").open("a") as log:
                process = subprocess.Popen(
                    ["bash", "-c", text],
                    cwd=self.project,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # to stop bash and what it started
                )
            self.background.append((sample, process))
        elif sample.kind == "python":
            if text.startswith(">>>"):
                text = DOCTEST.format(text=text, name=sample.where)
            self.manage("shell", "-c", text, where=sample.where)
        else:
            raise AssertionError(f"{sample.where}: unknown sample kind {sample.kind!r}")

    def install(self, text, *, where):
        requirements = [self.django_requirement]
        for line in text.splitlines():
            command = shlex.split(line, comments=True)
            assert command[:2] == ["pip", "install"], f"{where}: {line}"
            requirements += [
                f"{name} @ {self.wheel.as_uri()}"
                if name.startswith("django-email-hosts")
                else name
                for name in command[2:]
            ]
        python = self.venv / "bin" / "python"
        self.uv(
            "pip", "install", "--quiet", "--python", python, *requirements, where=where
        )

    def check_and_migrate(self, page):
        """Run check (a warning fails it), with the database checks, and migrate."""
        self.manage("shell", "-c", CHECK_AND_MIGRATE, where=f"after {page}")

    def stop_background(self):
        """Stop the commands still running; return those that had ended."""
        ended = []
        for sample, process in self.background:
            if process.poll() is not None:
                ended.append(sample.where)
            else:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        self.background = []
        return ended


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory):
    """The wheel, built once for both cells."""
    assert UV.exists(), f"{UV} is missing: make installs it in the virtualenv."
    outdir = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [UV, "build", "--wheel", "--out-dir", outdir, ROOT],
        check=True,
        capture_output=True,
    )
    [built] = outdir.glob("django_email_hosts-*.whl")
    return built


@pytest.fixture
def relay(smtp_server_factory, test_ca):
    """The relay of every host in the docs, with STARTTLS and AUTH like theirs."""
    return smtp_server_factory(tls=test_ca.server_context)


@pytest.fixture(params=CELLS)
def site(request, built_wheel, relay, test_ca, tmp_path):
    site = Site(
        tmp_path, wheel=built_wheel, cell=request.param, relay=relay, ca=test_ca
    )
    yield site
    site.stop_background()


def test_a_newcomer_following_the_docs_in_order_gets_a_working_site(site, relay):
    held = {}
    for page, samples in reading_order():
        # The docs' key rotation takes the key in use as OLD_FERNET_KEY.
        if held:
            site.env["OLD_FERNET_KEY"] = held["key"]
        for sample in samples:
            if sample.kind != "install" and not site.project.exists():
                site.start_project()
                held = site.settings_held()
            site.apply(sample)
            if sample.kind == "settings":
                now = site.settings_held()
                lost = {name: set(held[name]) - set(now[name]) for name in COLLECTIONS}
                assert not any(lost.values()), f"{sample.where} dropped {lost}"
                held = now
        site.check_and_migrate(page)
        assert site.stop_background() == [], (
            site.directory / "background.log"
        ).read_text()

    assert relay.envelopes, "No sample sent a mail to the relay."
    assert relay.envelopes[0].mail_from == "shop@example.com"
    site.manage("shell", "-c", ADMIN_WORKS, where="the admin")
    site.manage("findstatic", "email_hosts/admin.css", where="the admin's stylesheet")
