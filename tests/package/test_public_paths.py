"""
Every name the docs give users keeps its import path, however the package
is laid out inside: settings strings, imports and fixtures name these.
"""

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.management import get_commands
from django.utils.module_loading import import_string


ROOT = Path(__file__).parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.rst", *(ROOT / "docs").glob("*.rst")]

#: What issue 24 promised to keep, whether or not a page names it today.
PROMISED = {
    "email_hosts.mailers",
    "email_hosts.backends.get_connection",
    "email_hosts.backends.EmailHostsBackend",
    "email_hosts.backends.parse_conf",
    "email_hosts.routing.RoutingBackend",
    "email_hosts.outbox.OutboxBackend",
    "email_hosts.models.EmailHost",
    "email_hosts.models.ConnectedAccount",
    "email_hosts.models.HostStatus",
    "email_hosts.reporting.ExceptionReporterFilter",
    "email_hosts.exceptions.InvalidEmailHost",
}
#: What ``mailers()`` writes into users' settings as BACKEND, since 0.3.
MAILER_BACKENDS = {
    "email_hosts.backends.EmailHostsBackend",
    "email_hosts.backends._ConsoleBackend",
    "email_hosts.backends._LocmemBackend",
    "email_hosts.backends._DummyBackend",
}
COMMANDS = {
    "deliveroutbox",
    "importemailhosts",
    "listemailhosts",
    "purgeoutbox",
    "rotate_email_host_keys",
    "sendtestemailhosts",
}


def _documented_paths():
    paths = set()
    for document in DOCUMENTS:
        paths |= set(
            re.findall(r"email_hosts(?:\.[A-Za-z_]\w*)+", document.read_text())
        )
    # Check IDs and model labels are not import paths; they are tested below.
    return {
        path
        for path in paths
        if not re.fullmatch(r"email_hosts\.[EW]\d{3}", path)
        and path not in {"email_hosts.EmailHost", "email_hosts.ConnectedAccount"}
        and path != "email_hosts.repoint_emailhost"
    }


def _resolve(path):
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        return import_string(path)


def test_the_docs_name_what_was_promised():
    """The scan below finds the paths; HostStatus is only named as a model."""
    assert PROMISED - {"email_hosts.models.HostStatus"} <= _documented_paths()


@pytest.mark.parametrize(
    "path", sorted(_documented_paths() | PROMISED | MAILER_BACKENDS)
)
def test_a_documented_path_imports(path):
    assert _resolve(path) is not None


def test_the_model_labels_dumpdata_uses_resolve():
    assert (
        apps.get_model("email_hosts.EmailHost")._meta.label == "email_hosts.EmailHost"
    )
    assert apps.get_model("email_hosts.ConnectedAccount")


@pytest.mark.django_db
def test_the_repoint_permission_keeps_its_codename():
    assert Permission.objects.filter(
        content_type__app_label="email_hosts", codename="repoint_emailhost"
    ).exists()


def test_the_management_commands_keep_their_names():
    assert {
        name for name, app in get_commands().items() if app == "email_hosts"
    } == COMMANDS


@pytest.mark.parametrize(
    "migration",
    sorted(path.stem for path in (ROOT / "email_hosts" / "migrations").glob("0*.py")),
)
def test_every_migration_still_imports(migration):
    """Migrations name validators and fields by path and must not change."""
    module = importlib.import_module(f"email_hosts.migrations.{migration}")
    assert module.Migration.operations
