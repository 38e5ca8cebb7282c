"""The tree shows the design: small modules, and tests where their code is."""

import ast
from pathlib import Path


ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "email_hosts"
MAX_LINES = 300


def test_no_module_is_over_300_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {path: lines for path, lines in sizes.items() if lines > MAX_LINES} == {}


def test_each_subpackage_has_its_tests_in_a_folder_of_the_same_name():
    subpackages = {
        path.parent.relative_to(PACKAGE).parts[0]
        for path in PACKAGE.glob("*/__init__.py")
        if path.parent.name != "migrations"  # migrations_tests/ beside tests/
    }
    test_folders = {path.parent.name for path in (ROOT / "tests").glob("*/__init__.py")}
    # tests/package/ holds what concerns the package as a whole.
    assert (subpackages, test_folders - {"package"}) == (subpackages, subpackages)


def test_the_tests_of_a_top_level_module_are_at_the_top_of_tests():
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    nested = {
        path.stem.removeprefix("test_")
        for path in (ROOT / "tests").glob("*/test_*.py")
        if path.parent.name != "package"
    }
    assert modules & nested == set()


def test_no_module_reaches_into_another_for_a_private_name():
    """A name one module takes from another is that module's interface."""
    # Users' settings name these by their path in email_hosts.backends.
    reexported = {"_ConsoleBackend", "_LocmemBackend", "_DummyBackend"}
    reaching = {
        f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("email_hosts")
        for alias in node.names
        if alias.name.startswith("_") and alias.name not in reexported
    }
    assert reaching == set()
