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


def _migrate(*target):
    call_command("migrate", "email_hosts", *target, verbosity=0)


def _historical(migration):
    """Return the app registry of the models as ``migration`` left them."""
    from django.db.migrations.executor import MigrationExecutor  # noqa: PLC0415

    loader = MigrationExecutor(connection).loader
    return loader.project_state(("email_hosts", migration)).apps


@pytest.mark.django_db(transaction=True)
def test_connected_accounts_keep_their_tokens_bound_to_where_they_go():
    from django.utils import timezone  # noqa: PLC0415
    from django.utils.crypto import salted_hmac  # noqa: PLC0415

    from email_hosts.dsn import parse_dsn  # noqa: PLC0415
    from email_hosts.models import ConnectedAccount  # noqa: PLC0415
    from email_hosts.oauth2.binding import Destination  # noqa: PLC0415

    dsn = (
        "submission://box%40example.com:secret@smtp.example.com"
        "?oauth2=authorization_code&client_id=app"
        "&authorize_url=https%3A%2F%2Flogin.example.com%2Fa"
        "&token_url=https%3A%2F%2Flogin.example.com%2Ft"
    )
    _migrate("0004")
    models = _historical("0004_outbox")
    host_model = models.get_model("email_hosts", "EmailHost")
    account_model = models.get_model("email_hosts", "ConnectedAccount")
    app = salted_hmac(
        "email_hosts.oauth2.app",
        "https://login.example.com/t app",
        algorithm="sha256",
    ).hexdigest()
    for key, issued_by in (("shop", app), ("club", "another-app")):
        host = host_model.objects.create(key=key, dsn=dsn)
        account_model.objects.create(
            host=host, app=issued_by, refresh_token="r", connected_at=timezone.now()
        )
    _migrate()
    bound = dict(ConnectedAccount.objects.values_list("host__key", "destination"))
    assert bound == {"shop": Destination.of(parse_dsn(dsn)).digest(), "club": ""}
    _migrate("0004")  # Unapplied with accounts present.
    _migrate()


@pytest.mark.django_db(transaction=True)
def test_outbox_envelopes_are_encrypted_and_unapplied_back():
    from django.utils import timezone  # noqa: PLC0415

    from email_hosts.outbox.models import OutboxMessage  # noqa: PLC0415

    _migrate("0005")
    old = _historical("0005_token_destination").get_model(
        "email_hosts", "OutboxMessage"
    )
    envelope = {
        "from_email": "shop@example.com",
        "recipients": ["ann@example.net", "bob@example.net"],
        "pending_recipients": ["bob@example.net"],
        "refused_recipients": {"ann@example.net": "550 5.1.1 No such user"},
        "last_error": "'shop': 451 4.3.0 Try later, bob@example.net",
    }
    old.objects.create(
        message=b"Subject: Hi\r\n\r\nBody\r\n",
        next_attempt_at=timezone.now(),
        **envelope,
    )
    _migrate()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT from_email, recipients, pending_recipients, refused_recipients,"
            " last_error FROM email_hosts_outboxmessage"
        )
        raw = b"".join(bytes(column) for column in cursor.fetchone())
    assert b"example.net" not in raw and b"shop@" not in raw
    row = OutboxMessage.objects.get()
    assert {name: getattr(row, name) for name in envelope} == envelope
    _migrate("0005")  # Unapplied with messages present.
    old = _historical("0005_token_destination").get_model(
        "email_hosts", "OutboxMessage"
    )
    assert {name: getattr(old.objects.get(), name) for name in envelope} == envelope
    _migrate()
