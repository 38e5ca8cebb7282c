"""
The package's modules import each other in one direction, in the order of
docs/architecture.rst: each module imports only from its own layer and the
layers below it. Function-level imports count too.
"""

import ast
from pathlib import Path

import pytest


PACKAGE = Path(__file__).parents[2] / "email_hosts"

#: Bottom to top. A module is named exactly, or ``package.*`` names every
#: module below ``package`` that is not named on its own.
LAYERS = {
    "values and settings": {
        "exceptions",
        "conf",
        "conf.*",
        "keys",
        "domains",
        "senders",
        "dsn",
        "dsn.*",
        "oauth2",
        "oauth2.binding",
        "oauth2.hints",
        "reporting.masking",
    },
    "storage": {
        "encryption",
        "fields",
        "models",
        "models.*",
        "outbox.models",
        "rotation",
    },
    "transport and tokens": {
        "smtp",
        "smtp.*",
        "oauth2.client",
        "oauth2.tokens",
        "oauth2.sasl",
    },
    "where a host comes from": {
        "hosts",
        "hosts.*",
        "oauth2.accounts",
        "oauth2.consent",
        "oauth2.state",
        "oauth2.signals",
        "routing.table",
        "routing.deletion",
    },
    "sending": {"", "backends", "backends.*"},
    "routing": {"routing", "routing.backend"},
    "outbox": {"outbox", "outbox.*"},
    "operating": {
        "diagnostics",
        "checks",
        "checks.*",
        "reporting",
        "management",
        "management.*",
    },
    "editing": {
        "admin",
        "admin.*",
        "outbox.admin",
        "outbox.resend_confirmation",
        "apps",
    },
}


def _module_name(path):
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer_of(module):
    """Return the index of ``module``'s layer: an exact name wins over ``*``."""
    exact = [i for i, names in enumerate(LAYERS.values()) if module in names]
    if exact:
        return exact[0]
    candidates = [
        (len(name), i)
        for i, names in enumerate(LAYERS.values())
        for name in names
        if name.endswith(".*") and module.startswith(name[:-1])
    ]
    return max(candidates)[1] if candidates else None


def _absolute(node, path):
    """Return the dotted module an ``ImportFrom`` names, relative ones resolved."""
    if not node.level:
        return node.module or ""
    parts = ["email_hosts", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = parts[: len(parts) - node.level]
    return ".".join(filter(None, [*package, node.module]))


def _imports(path, modules):
    """Return the package modules ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(node, path)
            if module == "email_hosts" or module.startswith("email_hosts."):
                package = module.removeprefix("email_hosts").lstrip(".")
                for alias in node.names:
                    # from email_hosts.oauth2 import tokens: the submodule;
                    # from email_hosts.dsn import parse_dsn: the module.
                    submodule = ".".join(filter(None, [package, alias.name]))
                    found.add(submodule if submodule in modules else package)
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.removeprefix("email_hosts").lstrip(".")
                for alias in node.names
                if alias.name == "email_hosts" or alias.name.startswith("email_hosts.")
            }
    return found & modules


@pytest.fixture(scope="module")
def graph():
    paths = [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) - {_module_name(p)} for p in paths}


def _cycle_from(graph, start):
    path = []

    def visit(module):
        if module in path:
            return [*path[path.index(module) :], module]
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if cycle := visit(imported):
                return cycle
        path.pop()
        return None

    return visit(start)


def test_no_module_imports_itself_back(graph):
    cycles = [
        cycle for module in sorted(graph) if (cycle := _cycle_from(graph, module))
    ]
    assert cycles == []


def test_every_module_has_a_layer(graph):
    assert sorted(m or "email_hosts" for m in graph if _layer_of(m) is None) == []


def test_no_module_imports_from_a_layer_above_its_own(graph):
    names = list(LAYERS)
    upward = {
        f"{module or 'email_hosts'} ({names[_layer_of(module)]})": sorted(
            f"{imported} ({names[_layer_of(imported)]})"
            for imported in imported_modules
            if _layer_of(imported) > _layer_of(module)
        )
        for module, imported_modules in graph.items()
        if _layer_of(module) is not None
        and any(
            _layer_of(imported) is not None and _layer_of(imported) > _layer_of(module)
            for imported in imported_modules
        )
    }
    assert upward == {}


def test_the_layer_test_sees_function_level_imports(tmp_path):
    """An upward import hidden in a function is still found."""
    module = tmp_path / "module.py"
    module.write_text(
        "def f():\n    from email_hosts.admin import forms\n    import email_hosts.checks\n"
    )
    assert _imports(module, {"admin", "admin.forms", "checks"}) == {
        "admin.forms",
        "checks",
    }


def test_the_layer_test_sees_relative_imports():
    module = PACKAGE / "smtp" / "module.py"  # Never written: only parsed.
    tree = ast.parse("from . import tls\nfrom ..admin import forms\n")
    assert {_absolute(node, module) for node in tree.body} == {
        "email_hosts.smtp",
        "email_hosts.admin",
    }


def test_the_architecture_page_draws_the_layers_in_this_order():
    """Its picture lists them top to bottom, one a line."""
    text = (PACKAGE.parent / "docs" / "architecture.rst").read_text()
    picture = text.split(".. code-block:: text")[1]
    drawn = [
        line.strip().partition("  ")[0]
        for line in picture.splitlines()
        if line.strip() and line.strip() != "│"
    ]
    assert drawn[: len(LAYERS)] == list(reversed(LAYERS))


def test_only_the_admin_checks_and_commands_import_the_outbox(graph):
    """The outbox sends through backends and routing; they know nothing of it."""
    outbox_storage = {"outbox.models"}  # Gathered by models.py for Django.
    importers = {
        module
        for module, imported in graph.items()
        if any(
            m == "outbox" or m.startswith("outbox.") for m in imported - outbox_storage
        )
        and not module.startswith(("outbox", "management", "admin", "checks"))
    }
    assert importers <= {"apps"}
