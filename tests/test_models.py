"""EmailHost: encrypted at rest, keyed by its natural key, safe to print."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import override_settings

from email_hosts.fields import UndecryptableValue
from email_hosts.models import EmailHost


DSN = "submission://user:hunter2@smtp.example.com:587?timeout=10"


def _stored_bytes(host):
    with connection.cursor() as cursor:
        cursor.execute("SELECT dsn FROM email_hosts_emailhost WHERE id = %s", [host.pk])
        return bytes(cursor.fetchone()[0])


def test_dsn_is_encrypted_at_rest(email_host):
    host = email_host("shop", DSN)
    stored = _stored_bytes(host)
    assert b"hunter2" not in stored
    assert b"smtp.example.com" not in stored
    assert EmailHost.objects.get(key="shop").dsn == DSN


def test_str_and_repr_show_the_key_only(email_host):
    host = email_host("shop", DSN)
    assert str(host) == "shop"
    assert repr(host) == "<EmailHost 'shop'>"


def test_key_is_the_natural_key(email_host):
    host = email_host("shop", DSN)
    assert host.natural_key() == ("shop",)
    assert EmailHost.objects.get_by_natural_key("shop") == host


@pytest.mark.parametrize(
    ("fields", "field_with_error"),
    [
        ({"key": "shop", "dsn": "smtp://x?timout=5"}, "dsn"),
        ({"key": "shop", "dsn": DSN, "default_from": "Shop <shop>"}, "default_from"),
        ({"key": "not a slug", "dsn": DSN}, "key"),
    ],
)
def test_full_clean_uses_the_shared_validators(db, fields, field_with_error):
    with pytest.raises(ValidationError) as excinfo:
        EmailHost(**fields).full_clean()
    assert list(excinfo.value.message_dict) == [field_with_error]


def test_timestamps_track_creation_and_change(email_host):
    host = email_host("shop", DSN)
    created, updated = host.created_at, host.updated_at
    host.default_from = "shop@example.com"
    host.save()
    host.refresh_from_db()
    assert host.created_at == created
    assert host.updated_at > updated


@override_settings(FERNET_KEYS=["new-key", "old-key"])
def test_every_fernet_key_decrypts_and_the_first_encrypts(email_host):
    with override_settings(FERNET_KEYS=["old-key"]):
        old = email_host("old", DSN)
    new = email_host("new", DSN)
    assert EmailHost.objects.get(pk=old.pk).dsn == DSN
    with override_settings(FERNET_KEYS=["new-key"]):
        assert EmailHost.objects.get(pk=new.pk).dsn == DSN
        assert isinstance(EmailHost.objects.get(pk=old.pk).dsn, UndecryptableValue)


def test_secret_key_fallbacks_decrypt_after_a_secret_key_rotation(email_host, settings):
    host = email_host("shop", DSN)
    old_secret = settings.SECRET_KEY
    settings.SECRET_KEY = "rotated-secret-key"
    assert isinstance(EmailHost.objects.get(pk=host.pk).dsn, UndecryptableValue)
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    assert EmailHost.objects.get(pk=host.pk).dsn == DSN


def test_undecryptable_row_loads_and_saves_back_unchanged(email_host, settings):
    host = email_host("shop", DSN)
    before = _stored_bytes(host)
    keys = getattr(settings, "FERNET_KEYS", None)
    settings.FERNET_KEYS = ["a-key-that-never-encrypted-it"]
    loaded = EmailHost.objects.get(pk=host.pk)
    assert isinstance(loaded.dsn, UndecryptableValue)
    assert "hunter2" not in repr(loaded.dsn)
    loaded.default_from = "shop@example.com"
    loaded.full_clean()
    loaded.save()
    assert _stored_bytes(host) == before
    settings.FERNET_KEYS = keys  # None: derived from SECRET_KEY
    assert EmailHost.objects.get(pk=host.pk).dsn == DSN
