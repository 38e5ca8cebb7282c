"""System checks; every ID is documented in docs/checks.rst."""

import re
from pathlib import Path

from django.core import checks
from django.test.utils import override_settings


def _errors():
    return [m for m in checks.run_checks() if m.id.startswith("email_hosts.")]


@override_settings(EMAIL_HOSTS={"shop": "submission://u:p@smtp.example.com"})
def test_valid_configuration_passes():
    assert _errors() == []


@override_settings(EMAIL_HOSTS={"shop": "smtp://user:hunter2@smtp.example.com:abc"})
def test_e001_names_the_key_and_problem_without_the_password():
    assert _errors() == [
        checks.Error(
            "EMAIL_HOSTS['shop']: Port 'abc' is not a number.",
            hint="Fix the DSN; the configuration docs list what it takes.",
            id="email_hosts.E001",
        )
    ]


@override_settings(EMAIL_HOSTS=["smtp://smtp.example.com"])
def test_e002_email_hosts_must_be_a_dict():
    assert _errors() == [
        checks.Error(
            "EMAIL_HOSTS must be a dict of host keys to DSNs.",
            hint="For example EMAIL_HOSTS = {'shop': 'submission://...'}.",
            id="email_hosts.E002",
        )
    ]


@override_settings(EMAIL_HOSTS_DEFAULT_TIMEOUT="10")
def test_e003_default_timeout_must_be_a_positive_number():
    assert _errors() == [
        checks.Error(
            "EMAIL_HOSTS_DEFAULT_TIMEOUT must be a positive number of seconds, not '10'.",
            hint="Set it to the seconds a host may take, such as 10.",
            id="email_hosts.E003",
        )
    ]


def test_every_check_id_is_documented():
    source = (Path(__file__).parents[1] / "email_hosts" / "checks.py").read_text()
    docs = (Path(__file__).parents[1] / "docs" / "checks.rst").read_text()
    ids = set(re.findall(r"email_hosts\.[EW]\d{3}", source))
    assert ids
    assert {i for i in ids if i not in docs} == set()
