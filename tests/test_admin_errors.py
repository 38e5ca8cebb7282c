"""The form's errors: all at once, on the field that caused them, actionable."""

from email_hosts.models import EmailHost


def test_every_mistake_is_reported_in_one_round(add_form_errors, email_host):
    errors = add_form_errors(
        kind="submission",
        host="bad host",
        security="none",
        default_from="x",
        sender_domains="example.com, not a domain",
        backups="typo",
    )
    assert errors == {
        "host": [
            (
                "'bad host' is not a host name: use letters, digits, dots and hyphens,"
                " such as smtp.example.com."
            )
        ],
        "security": [
            (
                "SMTP submission always uses TLS. Choose SMTP as the kind for no"
                " encryption."
            )
        ],
        "default_from": [
            (
                "Enter one sender as addr@example.com or Name <addr@example.com>, not"
                " 'x'."
            )
        ],
        "sender_domains": ["'not a domain' is not a domain name such as example.com."],
        "backups": ["No email host typo: add it first, or correct the key."],
    }
    assert not EmailHost.objects.exists()


def test_a_domain_listed_by_a_host_from_settings_says_where_to_fix_it(
    add_form_errors, settings
):
    settings.EMAIL_HOSTS = {"demo": "console://?_sender_domains=example.com"}
    errors = add_form_errors(
        kind="console", security="none", sender_domains="example.com"
    )
    assert errors == {
        "sender_domains": [
            (
                "example.com already listed by demo, which comes from the EMAIL_HOSTS"
                " setting and cannot be changed here: one host per domain. Remove the"
                " domain here, or from that host's DSN in the settings."
            )
        ]
    }


def test_a_domain_listed_by_a_stored_host_may_be_moved_there(
    add_form_errors, email_host
):
    email_host("demo", "console://", sender_domains="example.com")
    errors = add_form_errors(
        kind="console", security="none", sender_domains="example.com"
    )
    assert errors["sender_domains"] == [
        (
            "example.com already listed by demo: one host per domain. Remove it here"
            " or there; the other host can be a backup."
        )
    ]
