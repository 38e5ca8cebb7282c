"""dumpdata and loaddata, keyed by the host key."""

import datetime
import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from email_hosts.models import EmailHost, HostStatus


NOW = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.timezone.utc)


DOCS_FIXTURE = (
    Path(__file__).parents[1] / "docs" / "examples" / "development-hosts.json"
)
TRICKY_DSN = (
    "submission://u%40x:p%40ss%3Aw%2Fo%3Frd%23%25@smtp.example.com:587?timeout=9"
)


def _dump():
    output = io.StringIO()
    call_command("dumpdata", "email_hosts", "--natural-primary", stdout=output)
    return json.loads(output.getvalue())


def _load(tmp_path, fixture, name="hosts.json"):
    path = tmp_path / name
    path.write_text(json.dumps(fixture))
    call_command("loaddata", str(path), verbosity=0)


def test_dumpdata_writes_hosts_without_primary_keys(email_host):
    email_host("shop", TRICKY_DSN, default_from="Shop <shop@example.com>")
    [record] = _dump()
    assert "pk" not in record
    assert record["fields"]["key"] == "shop"
    assert record["fields"]["dsn"] == TRICKY_DSN


def test_round_trip_keeps_the_dsn_exactly(email_host, tmp_path):
    email_host("shop", TRICKY_DSN)
    fixture = _dump()
    EmailHost.objects.all().delete()
    _load(tmp_path, fixture)
    assert EmailHost.objects.get(key="shop").dsn == TRICKY_DSN


def test_loading_a_fixture_twice_leaves_one_row_per_key(email_host, tmp_path):
    email_host("shop", TRICKY_DSN)
    email_host("club", "smtp://smtp.example.org")
    fixture = _dump()
    _load(tmp_path, fixture)
    _load(tmp_path, fixture)
    assert sorted(EmailHost.objects.values_list("key", flat=True)) == ["club", "shop"]


def test_loading_a_changed_fixture_updates_the_row_in_place(email_host, tmp_path):
    original = email_host("shop", TRICKY_DSN)
    fixture = _dump()
    fixture[0]["fields"]["dsn"] = "smtp://changed.example.com"
    _load(tmp_path, fixture)
    changed = EmailHost.objects.get(key="shop")
    assert (changed.pk, changed.dsn) == (original.pk, "smtp://changed.example.com")


def test_the_documented_development_fixture_loads(db):
    call_command("loaddata", str(DOCS_FIXTURE), verbosity=0)
    assert dict(EmailHost.objects.values_list("key", "dsn")) == {
        "shop": "console://",
        "club": "smtp://127.0.0.1:1025?timeout=5",
    }


def test_dumpdata_refuses_a_host_it_cannot_decrypt(email_host, settings):
    email_host("shop", TRICKY_DSN)
    settings.FERNET_KEYS = ["not-the-key"]
    with pytest.raises(CommandError, match="cannot be decrypted with the current keys"):
        _dump()


def test_host_statuses_are_keyed_by_key_too(db, tmp_path):
    HostStatus.objects.create(key="shop", ok=False, message="down", checked_at=NOW)
    [record] = _dump()
    assert record["model"] == "email_hosts.hoststatus"
    assert "pk" not in record
    HostStatus.objects.filter(key="shop").update(message="changed")
    _load(tmp_path, [record])
    assert HostStatus.objects.get().message == "down"


def test_connected_accounts_travel_with_their_host_by_key(email_host, tmp_path):
    from email_hosts.models import ConnectedAccount  # noqa: PLC0415

    host = email_host("shop", TRICKY_DSN)
    ConnectedAccount.objects.create(
        host=host, destination="d", refresh_token="refresh-token-1", connected_at=NOW
    )
    output = io.StringIO()
    call_command(
        "dumpdata",
        "email_hosts",
        "--natural-primary",
        "--natural-foreign",
        stdout=output,
    )
    fixture = json.loads(output.getvalue())
    [account] = [r for r in fixture if r["model"] == "email_hosts.connectedaccount"]
    assert "pk" not in account
    assert account["fields"]["host"] == ["shop"]
    EmailHost.objects.all().delete()
    _load(tmp_path, fixture)
    _load(tmp_path, fixture)
    assert ConnectedAccount.objects.get().host.key == "shop"
    assert ConnectedAccount.objects.get().refresh_token == "refresh-token-1"


# Copying hosts copies hosts, never mail.


def _documented_export():
    """Return the dumpdata command docs/operations.rst tells users to run."""
    text = (Path(__file__).parents[1] / "docs" / "operations.rst").read_text()
    [command] = re.findall(r"python manage\.py (dumpdata email_hosts\.\S.*?) >", text)
    return command.split()


@pytest.fixture
def a_site_with_mail(email_host):
    from email_hosts.models import ConnectedAccount  # noqa: PLC0415
    from email_hosts.outbox.models import (  # noqa: PLC0415
        OutboxMessage,
        RateWindow,
        WorkerBeat,
    )

    host = email_host("shop", TRICKY_DSN)
    ConnectedAccount.objects.create(
        host=host, destination="d", refresh_token="refresh-token-1", connected_at=NOW
    )
    HostStatus.objects.create(
        key="shop", ok=False, message="down", checked_at=NOW, paused_until=NOW
    )
    WorkerBeat.objects.create(name="outbox", ran_at=NOW)
    RateWindow.objects.create(key="shop", window="DAY", starts_at=NOW, messages=9)
    for status in ("queued", "claimed", "sending", "sent", "uncertain"):
        OutboxMessage.objects.create(
            host_key="shop",
            from_email="shop@example.com",
            recipients=["you@example.net"],
            pending_recipients=["you@example.net"],
            message=b"Subject: Reset\r\n\r\nhttps://example.com/reset/token/\r\n",
            status=status,
            claimed_by="worker" if status in ("claimed", "sending") else "",
            next_attempt_at=NOW,
        )


def test_the_documented_export_copies_hosts_and_accounts_and_no_mail(
    a_site_with_mail, tmp_path
):
    from email_hosts.models import ConnectedAccount  # noqa: PLC0415

    output = io.StringIO()
    call_command(*_documented_export(), stdout=output)
    fixture = json.loads(output.getvalue())
    assert {record["model"] for record in fixture} == {
        "email_hosts.emailhost",
        "email_hosts.connectedaccount",
    }
    EmailHost.objects.all().delete()
    _load(tmp_path, fixture)
    assert ConnectedAccount.objects.get().host.dsn == TRICKY_DSN


def test_mail_that_arrives_by_loaddata_waits_for_an_operator(
    a_site_with_mail, tmp_path, smtp_server, settings
):
    from email_hosts.outbox import operations  # noqa: PLC0415
    from email_hosts.outbox.delivery import deliver_due  # noqa: PLC0415
    from email_hosts.outbox.models import (  # noqa: PLC0415
        OutboxMessage,
        RateWindow,
        Status,
        WorkerBeat,
    )

    output = io.StringIO()
    call_command("dumpdata", "email_hosts", "--natural-foreign", stdout=output)
    OutboxMessage.objects.all().delete()
    HostStatus.objects.all().delete()
    settings.EMAIL_HOSTS = {"shop": smtp_server.dsn()}
    EmailHost.objects.all().delete()
    fixture = [
        record
        for record in json.loads(output.getvalue())
        if record["model"]
        not in {"email_hosts.emailhost", "email_hosts.connectedaccount"}
    ]
    _load(tmp_path, fixture)
    statuses = sorted(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses == sorted(["held", "held", "held", "sent", "uncertain"])
    assert not OutboxMessage.objects.exclude(claimed_by="").exists()
    assert HostStatus.objects.get(key="shop").paused_until is None
    # Another site's heartbeat and rate windows say nothing about this one.
    assert not WorkerBeat.objects.exists()
    assert not RateWindow.objects.exists()
    deliver_due()
    assert smtp_server.envelopes == []  # Nothing left by itself.
    held = OutboxMessage.objects.filter(status=Status.HELD)
    assert operations.resend(held) == 3  # Unless an operator says so.


def test_held_messages_go_with_the_purge(a_site_with_mail, tmp_path):
    import datetime  # noqa: PLC0415

    from email_hosts.outbox import operations  # noqa: PLC0415
    from email_hosts.outbox.models import OutboxMessage, Status  # noqa: PLC0415

    OutboxMessage.objects.filter(status="queued").update(status=Status.HELD)
    later = timezone.now() + datetime.timedelta(days=31)
    operations.purge(now=later)
    assert not OutboxMessage.objects.filter(status=Status.HELD).exists()
