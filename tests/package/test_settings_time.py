"""email_hosts.mailers() runs inside settings.py, before Django is set up."""

import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).parents[2]
SETTINGS = """
import email_hosts
SECRET_KEY = "x"
INSTALLED_APPS = ["email_hosts"]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
EMAIL_HOSTS = {{"shop": {dsn!r}}}
HOSTS_AS_MAILERS = email_hosts.mailers(EMAIL_HOSTS)
DEFAULT_EXCEPTION_REPORTER_FILTER = "email_hosts.reporting.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "email_hosts.reporting.ExceptionReporter"
"""


def _check(tmp_path, dsn):
    (tmp_path / "site_settings.py").write_text(SETTINGS.format(dsn=dsn))
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "django", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            "PYTHONPATH": f"{tmp_path}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "site_settings",
        },
        check=False,
    )


def test_mailers_works_while_settings_load(tmp_path):
    result = _check(tmp_path, "submission://u:p@smtp.example.com")
    assert (result.returncode, result.stderr) == (0, "")


def test_bad_dsn_in_settings_names_key_and_problem_without_password(tmp_path):
    result = _check(tmp_path, "submission://u:hunter2@smtp.example.com?timout=5")
    assert result.returncode == 1
    assert (
        "EMAIL_HOSTS['shop']: Unknown query parameter 'timout'. Known parameters"
        " are _backups, _default_from_email, _sender_domains, authorize_url, client_id, oauth2,"
        " sasl, scope, ssl, ssl_cafile, ssl_certfile, ssl_keyfile, tenant,"
        " timeout, tls, token_url."
    ) in result.stderr
    assert "hunter2" not in result.stderr
