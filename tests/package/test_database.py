import os

from django.db import connection


def test_runs_on_the_database_ci_asked_for(db):
    # Guards the matrix against silently testing SQLite three times.
    expected = {"sqlite": "sqlite", "postgresql": "postgresql", "mariadb": "mysql"}
    assert connection.vendor == expected[os.environ.get("DB", "sqlite")]
