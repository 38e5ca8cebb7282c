"""Every code sample in the docs runs here, and every command they name exists."""

import re
import runpy
from pathlib import Path

import pytest
from django.core import checks, mail
from django.core.mail import EmailMessage
from django.core.management import get_commands
from django.test.utils import override_settings
from django.utils.module_loading import import_string

from email_hosts import conf
from email_hosts.models import EmailHost
from email_hosts.outbox import OutboxBackend
from email_hosts.routing.table import build_table


ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
PAGES = sorted(DOCS.glob("*.rst"))


def _example(name):
    return runpy.run_path(str(EXAMPLES / name))


def test_python_samples_are_included_from_tested_files():
    inline = [page.name for page in PAGES if "code-block:: python" in page.read_text()]
    assert inline == []
    included = {
        name
        for page in PAGES
        for name in re.findall(r"literalinclude:: examples/(\S+)", page.read_text())
    }
    tested = set(re.findall(r'_example\("([^"]+)"\)', Path(__file__).read_text()))
    assert included - tested - {"development-hosts.json"} == set()


def test_every_command_the_docs_name_exists():
    texts = [page.read_text() for page in PAGES] + [(ROOT / "README.md").read_text()]
    named = {name for text in texts for name in re.findall(r"manage\.py (\w+)", text)}
    assert named
    assert named - set(get_commands()) == set()


def test_quickstart_settings(db):
    settings = _example("quickstart_settings.py")
    assert "email_hosts" in settings["INSTALLED_APPS"]
    with override_settings(EMAIL_HOSTS=settings["EMAIL_HOSTS"]):
        assert [
            m for m in checks.run_checks() if m.id.startswith("email_hosts.E")
        ] == []


def test_quickstart_send(db, smtp_server):
    example = _example("quickstart_send.py")
    host = example["add_shop_host"]()
    host.dsn = smtp_server.dsn()  # as an admin would, to point it at the test relay
    host.save()
    assert example["send_welcome"]("new@example.net") == 1
    [envelope] = smtp_server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "shop@example.com",
        ["new@example.net"],
    )


def test_mailers_settings(email_host, smtp_server):
    settings = _example("mailers_settings.py")
    assert set(settings["MAILERS"]) == {"default", "shop", "club"}
    assert (
        settings["MAILERS"]["club"]["OPTIONS"]["default_from_email"]
        == "club@example.org"
    )
    if not hasattr(mail, "mailers"):
        return  # MAILERS arrived in Django 6.1; the entries above are all 5.2 sees.
    email_host("shop", smtp_server.dsn())
    with override_settings(MAILERS=settings["MAILERS"]):
        EmailMessage("Hi", "...", "s@example.com", ["a@example.com"]).send(using="shop")
    assert len(smtp_server.envelopes) == 1


def test_routing_settings(db):
    settings = _example("routing_settings.py")
    with override_settings(
        EMAIL_HOSTS=settings["EMAIL_HOSTS"],
        EMAIL_HOSTS_FALLBACK=settings["EMAIL_HOSTS_FALLBACK"],
    ):
        table = build_table()
        messages = [
            m
            for m in checks.run_checks(databases=["default"])
            if m.id.startswith("email_hosts.E")
        ]
    assert {
        domain: table.key_for(f"a@{domain}")
        for domain in ("example.com", "example.org", "example.net")
    } == {"example.com": "shop", "example.org": "club", "example.net": "club"}
    assert table.chain("shop") == ["shop", "spare"]
    assert messages == []
    backend = settings.get("EMAIL_BACKEND") or settings["MAILERS"]["default"]["BACKEND"]
    assert backend == "email_hosts.routing.RoutingBackend"


def test_rotation_settings(monkeypatch):
    monkeypatch.setenv("NEW_FERNET_KEY", "new")
    monkeypatch.setenv("OLD_FERNET_KEY", "old")
    assert _example("rotation_settings.py")["FERNET_KEYS"] == ["new", "old"]


def test_security_settings_pass_the_deploy_checks(monkeypatch):
    monkeypatch.setenv("FERNET_KEY", "k" * 44)
    example = _example("security_settings.py")
    names = [
        "EMAIL_HOSTS_ALLOWED_RELAYS",
        "DEFAULT_EXCEPTION_REPORTER_FILTER",
        "DEFAULT_EXCEPTION_REPORTER",
    ]
    with override_settings(
        EMAIL_HOSTS={"shop": "submission://u:secret@smtp.mailgun.org"},
        FERNET_KEYS=example["FERNET_KEYS"],
        **{name: example[name] for name in names},
    ):
        messages = checks.run_checks(include_deployment_checks=True)
    assert [m.id for m in messages if m.id.startswith("email_hosts")] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_pages_name_only_documented_check_ids(page):
    documented = set(
        re.findall(r"email_hosts\.[EW]\d{3}", (DOCS / "checks.rst").read_text())
    )
    assert set(re.findall(r"email_hosts\.[EW]\d{3}", page.read_text())) <= documented


def test_model_fields_have_help_texts():
    assert all(
        field.help_text
        for field in EmailHost._meta.get_fields()
        if field.name in {"key", "dsn", "default_from", "sender_domains", "backups"}
    )


def test_outbox_settings(db):
    settings = _example("outbox_settings.py")
    assert {"email_hosts", "django_tasks_db"} <= set(settings["INSTALLED_APPS"])
    with override_settings(
        EMAIL_HOSTS=settings["EMAIL_HOSTS"],
        EMAIL_HOSTS_RETRY_DELAYS=settings["EMAIL_HOSTS_RETRY_DELAYS"],
        EMAIL_HOSTS_OUTBOX=settings["EMAIL_HOSTS_OUTBOX"],
    ):
        errors = [
            m
            for m in checks.run_checks(databases=["default"])
            if m.id.startswith("email_hosts.")
        ]
        assert conf.outbox() == conf.Outbox()
        assert conf.retry_delays() == conf.DEFAULT_RETRY_DELAYS
    assert errors == []
    mailer = settings.get("MAILERS", {}).get("shop")
    if mailer:
        assert import_string(mailer["BACKEND"]) is OutboxBackend


def test_outbox_rq_settings():
    settings = _example("outbox_rq_settings.py")
    [queues] = [entry["QUEUES"] for entry in settings["TASKS"].values()]
    assert (
        queues
        == list(settings["RQ_QUEUES"])
        == [settings["EMAIL_HOSTS_OUTBOX"]["QUEUE_NAME"]]
    )
    assert import_string(settings["TASKS"]["default"]["BACKEND"])


def test_a_test_that_patches_smtplib_passes(db, smtp_server):
    example = _example("patched_smtplib_test.py")
    with override_settings(EMAIL_HOSTS={"shop": smtp_server.dsn()}):
        example["test_welcome_mail"]()
    assert smtp_server.connections == 0


def test_the_logging_example_masks_url_passwords_in_admin_mails(settings):
    import logging.config  # noqa: PLC0415

    import django  # noqa: PLC0415
    from django.core import mail  # noqa: PLC0415
    from django.utils.log import configure_logging  # noqa: PLC0415

    secret = "-".join(["log", "secret"])  # noqa: FLY002 -- not in the source
    # Django < 6.0 takes (name, address) pairs; 6.0 deprecates them.
    settings.ADMINS = (
        ["ops@example.com"]
        if django.VERSION >= (6, 0)
        else [("Ops", "ops@example.com")]
    )
    logging.config.dictConfig(_example("logging_settings.py")["LOGGING"])
    try:
        logging.getLogger("shop").error(
            "could not reach %s", f"smtp://u:{secret}@smtp.example.com"
        )
    finally:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)  # Django's, again.
    [message] = mail.outbox
    assert "could not reach smtp://u:" in message.subject
    assert secret not in message.subject + message.body
