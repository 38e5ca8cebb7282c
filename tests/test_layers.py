"""
The package's modules import each other in one direction: value modules at
the bottom, then where hosts come from, then sending, routing, and the admin
and commands on top. Function-level imports count too.
"""

import ast
from pathlib import Path

import pytest


PACKAGE = Path(__file__).parents[1] / "email_hosts"

#: Modules that know nothing of hosts, sending or routing.
VALUES = {
    "conf",
    "connections",
    "domains",
    "dsn",
    "dsn_errors",
    "encryption",
    "exceptions",
    "failures",
    "fields",
    "keys",
    "masking",
    "oauth2",
    "oauth2.binding",
    "oauth2.client",
    "oauth2.config",
    "oauth2.hints",
    "oauth2.tokens",
    "pipelining",
    "pool",
    "relays",
    "repointing",
    "senders",
    "tls",
    "transports",
}
#: Where hosts and their connected accounts come from, above the values.
SOURCES = {
    "hosts",
    "models",
    "oauth2.accounts",
    "oauth2.consent",
    "oauth2.signals",
    "oauth2.state",
    "outbox.models",
}


def _module_name(path):
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """Return the package modules ``path`` imports, anywhere in it."""
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "email_hosts" or node.module.startswith("email_hosts."):
                package = node.module.removeprefix("email_hosts").lstrip(".")
                # from email_hosts.oauth2 import tokens: the submodule.
                found |= {
                    ".".join(filter(None, [package, alias.name]))
                    for alias in node.names
                } & modules
                if package:
                    found.add(package)
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.removeprefix("email_hosts.")
                for alias in node.names
                if alias.name.startswith("email_hosts.")
            }
    return found & modules


@pytest.fixture(scope="module")
def graph():
    return {
        _module_name(path): _imports(path)
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and _module_name(path)
    }


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


def test_value_modules_import_only_value_modules(graph):
    assert {m: graph[m] - VALUES for m in VALUES if graph[m] - VALUES} == {}


def test_host_sources_import_no_sending_or_routing(graph):
    allowed = VALUES | SOURCES
    assert {m: graph[m] - allowed for m in SOURCES if graph[m] - allowed} == {}


def test_sending_imports_no_routing(graph):
    assert {m for m in graph["backends"] if m.startswith("routing")} == set()


def test_only_the_top_layer_imports_the_outbox(graph):
    """The outbox sends through backends and routing; they know nothing of it."""
    top = {"admin", "apps", "checks"}
    importers = {
        module
        for module, imported in graph.items()
        if any(m == "outbox" or m.startswith("outbox.") for m in imported - SOURCES)
        and not module.startswith(("outbox", "management"))
    }
    assert importers <= top
