"""The migrations match the models and can be unapplied and reapplied."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from email_hosts.models import EmailHost


def test_models_need_no_new_migration(db):
    output = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=output)
    assert "No changes detected" in output.getvalue()


def _tables():
    return set(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_migrates_to_zero_and_back_with_rows_present():
    EmailHost.objects.create(key="shop", dsn="smtp://smtp.example.com")
    call_command("migrate", "email_hosts", "zero", verbosity=0)
    assert "email_hosts_emailhost" not in _tables()
    call_command("migrate", "email_hosts", verbosity=0)
    assert "email_hosts_emailhost" in _tables()
    EmailHost.objects.create(key="shop", dsn="smtp://smtp.example.com")
    assert EmailHost.objects.get(key="shop").dsn == "smtp://smtp.example.com"
