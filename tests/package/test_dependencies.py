"""The declared dependency ranges keep out releases with known holes."""

from importlib.metadata import requires

import pytest
from packaging.requirements import Requirement


def _specifier(name):
    """Return the range the installed package declares, as pip reads it."""
    [requirement] = [
        requirement
        for requirement in map(Requirement, requires("django-email-hosts"))
        if requirement.name == name and requirement.marker is None
    ]
    return requirement.specifier


@pytest.mark.parametrize(
    ("version", "allowed"),
    [
        ("5.2.14", False),
        ("5.2.15", True),
        # CVE-2026-7666: a retry on the same backend delivered in cleartext.
        *[(f"6.0.{patch}", False) for patch in range(6)],
        # Its pre-releases lack the fix too; pip takes them with --pre.
        *[(f"6.0{pre}", False) for pre in ("a1", "b1", "rc1", ".0rc1")],
        ("6.0.6", True),
        ("6.1.3", True),
        ("6.2", False),
    ],
)
def test_django_range_excludes_the_starttls_downgrade(version, allowed):
    assert _specifier("django").contains(version, prereleases=True) is allowed


@pytest.mark.parametrize("name", ["django", "django-fernet-fields-v2", "speckenv"])
def test_every_runtime_dependency_has_an_upper_bound(name):
    assert any(spec.operator == "<" for spec in _specifier(name))
