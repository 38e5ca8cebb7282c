"""listemailhosts, importemailhosts and sendtestemailhosts --all/--check."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from email_hosts.models import EmailHost
from tests.conftest import PASSWORD


def _call(*arguments):
    output = io.StringIO()
    call_command(*arguments, stdout=output)
    return output.getvalue()


@override_settings(
    EMAIL_HOSTS={
        "shop": "smtp://settings.example.com",
        "club": f"submission://club:{PASSWORD.replace('/', '%2F')}@smtp.example.org",
    },
    MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
)
def test_listemailhosts_shows_source_and_masked_transport(email_host):
    email_host("shop", "submission://shop:db-secret@db.example.com")
    email_host("news", "console://")
    output = _call("listemailhosts")
    assert output.splitlines() == [
        "club     EMAIL_HOSTS                submission://club@smtp.example.org:587 (STARTTLS)",
        "default  MAILERS                    django.core.mail.backends.locmem.EmailBackend",
        "news     database                   console://",
        "shop     database over EMAIL_HOSTS  submission://shop@db.example.com:587 (STARTTLS)",
    ]
    assert "db-secret" not in output


def test_listemailhosts_flags_an_undecryptable_host(email_host, settings):
    email_host("shop", "smtp://smtp.example.com")
    settings.FERNET_KEYS = ["not-the-key"]
    assert "Cannot be decrypted with the current keys" in _call("listemailhosts")


IMPORTABLE = {
    "shop": "submission://shop:s@smtp.example.com?_default_from_email=shop@example.com",
    "club": "smtp://smtp.example.org",
}


@override_settings(EMAIL_HOSTS=IMPORTABLE)
def test_importemailhosts_copies_settings_and_skips_existing_keys(email_host):
    email_host("club", "console://")
    output = _call("importemailhosts")
    assert output.splitlines() == [
        "Imported 1 new host(s), overwrote 0, skipped 1 that exist (--overwrite replaces them).",
        "  skipped club: already in the database",
    ]
    assert dict(EmailHost.objects.values_list("key", "dsn")) == {
        "shop": IMPORTABLE["shop"],
        "club": "console://",
    }


@override_settings(EMAIL_HOSTS=IMPORTABLE)
def test_importemailhosts_overwrite_replaces_existing_dsns(email_host):
    email_host("club", "console://")
    _call("importemailhosts", "--overwrite")
    assert EmailHost.objects.get(key="club").dsn == IMPORTABLE["club"]


@override_settings(EMAIL_HOSTS=IMPORTABLE)
def test_importemailhosts_dry_run_writes_nothing(db):
    output = _call("importemailhosts", "--dry-run")
    assert output.startswith("Would import 2 new host(s)")
    assert not EmailHost.objects.exists()


@override_settings(EMAIL_HOSTS={"shop": "smtp://u:hunter2@smtp.example.com?timout=1"})
def test_importemailhosts_refuses_a_bad_dsn_by_key(db):
    with pytest.raises(CommandError) as excinfo:
        _call("importemailhosts")
    assert "EMAIL_HOSTS['shop']: Unknown query parameter 'timout'" in str(excinfo.value)
    assert "hunter2" not in str(excinfo.value)
    assert not EmailHost.objects.exists()


def test_sendtestemailhosts_all_sends_through_every_host(
    email_host, smtp_server_factory
):
    shop, club = smtp_server_factory(), smtp_server_factory()
    email_host("shop", shop.dsn())
    with override_settings(EMAIL_HOSTS={"club": club.dsn()}):
        _call("sendtestemailhosts", "--all", "to@example.org")
    assert [len(shop.envelopes), len(club.envelopes)] == [1, 1]


def test_sendtestemailhosts_check_prints_a_line_per_host_and_sends_nothing(
    email_host, smtp_server
):
    email_host("shop", smtp_server.dsn())
    assert _call("sendtestemailhosts", "--check", "shop").splitlines() == [
        "ok      Email host 'shop': the connection works."
    ]
    assert smtp_server.envelopes == []


def test_sendtestemailhosts_check_fails_if_any_host_fails(
    email_host, smtp_server, refused_port, capsys
):
    email_host("good", smtp_server.dsn())
    email_host("bad", f"smtp://127.0.0.1:{refused_port}?timeout=2")
    output = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 of 2 host\(s\) failed the check\.$"):
        call_command("sendtestemailhosts", "--check", "--all", stdout=output)
    assert output.getvalue().splitlines() == [
        (
            f"FAILED  Email host 'bad': 127.0.0.1:{refused_port} refused the"
            " connection; check the host and the port. It has no backup, so mail"
            " sent through it fails until this is fixed."
        ),
        "ok      Email host 'good': the connection works.",
    ]


def test_sendtestemailhosts_check_reports_an_unknown_key(db):
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("sendtestemailhosts", "--check", "nope", stdout=output)
    assert "No such email host" in output.getvalue()


def test_sendtestemailhosts_needs_addresses(db):
    with pytest.raises(CommandError, match="Give a host key and at least one address"):
        _call("sendtestemailhosts", "shop")


def test_sendtestemailhosts_all_goes_on_past_a_failing_host_and_fails_at_the_end(
    email_host, smtp_server, refused_port
):
    email_host("bad", f"smtp://127.0.0.1:{refused_port}?timeout=2")
    email_host("good", smtp_server.dsn())
    output = io.StringIO()
    with pytest.raises(
        CommandError, match=r"^1 of 2 host\(s\) failed to send the test email\.$"
    ):
        call_command("sendtestemailhosts", "--all", "to@example.org", stdout=output)
    assert output.getvalue().splitlines() == [
        (
            f"FAILED  Email host 'bad': 127.0.0.1:{refused_port} refused the"
            " connection; check the host and the port. It has no backup, so mail"
            " sent through it fails until this is fixed."
        ),
        "ok      Sent 1 test email through 'good' to to@example.org.",
    ]
    assert len(smtp_server.envelopes) == 1


def test_sendtestemailhosts_key_gives_a_reason_not_a_traceback(
    email_host, refused_port
):
    email_host("bad", f"smtp://127.0.0.1:{refused_port}?timeout=2")
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("sendtestemailhosts", "bad", "to@example.org", stdout=output)
    assert output.getvalue() == (
        f"FAILED  Email host 'bad': 127.0.0.1:{refused_port} refused the"
        " connection; check the host and the port. It has no backup, so mail"
        " sent through it fails until this is fixed.\n"
    )


@pytest.mark.parametrize(
    "address", ["x\nBcc: y@example.com", "a@[", "x\x00@example.com", "nobody"]
)
def test_sendtestemailhosts_refuses_what_is_no_address_and_sends_nothing(
    email_host, smtp_server, address
):
    email_host("shop", smtp_server.dsn())
    with pytest.raises(CommandError, match="is not an email address"):
        call_command("sendtestemailhosts", "shop", "ok@example.com", address)
    assert smtp_server.connections == 0
