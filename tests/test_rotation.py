"""rotate_email_host_keys: re-encrypt with the first key, lose nothing."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import BinaryField, ExpressionWrapper, F
from django.test.utils import override_settings

from email_hosts.fields import UndecryptableValue
from email_hosts.models import EmailHost
from tests.conftest import manage


DSN = "submission://user:rotation-secret@smtp.example.com"


def _ciphertexts():
    raw = ExpressionWrapper(F("dsn"), output_field=BinaryField())
    return {
        key: bytes(value) for key, value in EmailHost.objects.values_list("key", raw)
    }


def _rotate(*arguments):
    output = io.StringIO()
    call_command("rotate_email_host_keys", *arguments, stdout=output)
    return output.getvalue().strip()


@pytest.fixture
def hosts_under_old_key(email_host):
    with override_settings(FERNET_KEYS=["old-key"]):
        email_host("shop", DSN)
        email_host("club", DSN)


@override_settings(FERNET_KEYS=["new-key", "old-key"])
def test_rotation_re_encrypts_with_the_first_key(hosts_under_old_key):
    assert _rotate().splitlines()[0] == (
        "email hosts: re-encrypted 2, 0 already use the current key."
    )
    with override_settings(FERNET_KEYS=["new-key"]):
        assert {host.dsn for host in EmailHost.objects.all()} == {DSN}


@override_settings(FERNET_KEYS=["new-key", "old-key"])
def test_rotation_is_idempotent(hosts_under_old_key):
    _rotate()
    before = _ciphertexts()
    assert _rotate().splitlines()[0] == (
        "email hosts: re-encrypted 0, 2 already use the current key."
    )
    assert _ciphertexts() == before


@override_settings(FERNET_KEYS=["new-key", "old-key"])
def test_dry_run_changes_nothing(hosts_under_old_key):
    before = _ciphertexts()
    assert _rotate("--dry-run").splitlines()[0] == (
        "email hosts: would re-encrypt 2, 0 already use the current key."
    )
    assert _ciphertexts() == before


@override_settings(FERNET_KEYS=["unrelated-key"])
def test_a_lost_key_names_the_hosts_and_rewrites_nothing(hosts_under_old_key):
    before = _ciphertexts()
    with pytest.raises(CommandError) as excinfo:
        _rotate()
    assert str(excinfo.value).startswith(
        "No key decrypts 2 email hosts (club, shop), left untouched. Add the key"
    )
    assert _ciphertexts() == before


@override_settings(FERNET_KEYS=["new-key", "old-key"])
def test_decryptable_hosts_rotate_beside_undecryptable_ones(
    hosts_under_old_key, email_host
):
    with override_settings(FERNET_KEYS=["lost-key"]):
        email_host("lost", DSN)
    with pytest.raises(CommandError, match=r"1 email hosts \(lost\), left untouched"):
        _rotate()
    with override_settings(FERNET_KEYS=["new-key"]):
        stored = {host.key: host.dsn for host in EmailHost.objects.all()}
    assert stored["shop"] == stored["club"] == DSN
    assert isinstance(stored["lost"], UndecryptableValue)


CREATE_1000_HOSTS = f"""
from email_hosts.models import EmailHost
from tests.conftest import manage
EmailHost.objects.bulk_create(
    EmailHost(key=f"host-{{number:04}}", dsn={DSN!r}) for number in range(1000)
)
"""


@pytest.mark.django_db(transaction=True)
def test_rotating_1000_hosts_across_three_processes(shared_database):
    manage(
        "shell",
        "-c",
        CREATE_1000_HOSTS,
        database=shared_database,
        fernet_keys=["old-key"],
    )

    rotation = manage(
        "rotate_email_host_keys",
        database=shared_database,
        fernet_keys=["new-key", "old-key"],
    )
    assert rotation.splitlines()[0] == (
        "email hosts: re-encrypted 1000, 0 already use the current key."
    )

    listing = manage(
        "listemailhosts", database=shared_database, fernet_keys=["new-key"]
    )
    lines = [line for line in listing.splitlines() if line.startswith("host-")]
    assert len(lines) == 1000
    assert all(
        "submission://user@smtp.example.com:587 (STARTTLS)" in line for line in lines
    )


@override_settings(FERNET_KEYS=["new-key", "old-key"])
def test_rotation_re_encrypts_connected_accounts_tokens_too(email_host):
    from django.utils import timezone  # noqa: PLC0415

    from email_hosts.models import ConnectedAccount  # noqa: PLC0415

    def raw_tokens():
        raw = ExpressionWrapper(F("refresh_token"), output_field=BinaryField())
        return bytes(ConnectedAccount.objects.values_list(raw, flat=True).get())

    with override_settings(FERNET_KEYS=["new-key"]):
        email_host("shop", DSN)  # Current already: only its account is not.
    with override_settings(FERNET_KEYS=["old-key"]):
        ConnectedAccount.objects.create(
            host=EmailHost.objects.get(),
            destination="d",
            refresh_token="refresh-token-under-old-key",
            access_token="access-token-under-old-key",
            connected_at=timezone.now(),
        )
        before = raw_tokens()
    assert _rotate().splitlines()[:2] == [
        "email hosts: re-encrypted 0, 1 already use the current key.",
        "connected accounts: re-encrypted 1, 0 already use the current key.",
    ]
    assert raw_tokens() != before
    with override_settings(FERNET_KEYS=["new-key"]):
        account = ConnectedAccount.objects.get()
        assert account.refresh_token == "refresh-token-under-old-key"
        assert account.access_token == "access-token-under-old-key"
