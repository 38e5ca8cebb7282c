"""
Relay passwords and encryption keys never reach Django's error reports: the
debug page and AdminEmailHandler mails, with DEBUG on and off.
"""

import logging
import sys

import django
import pytest
from cryptography.fernet import Fernet
from django.core import checks, mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.test import RequestFactory
from django.test.utils import override_settings
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter

from email_hosts.backends import get_connection
from email_hosts.exceptions import DeliveryFailed
from email_hosts.models import EmailHost
from email_hosts.reporting import mask_url_password
from email_hosts.routing import RoutingBackend


# Joined at run time: reports quote source lines, and must not find it there.
SECRET = "-".join(["relay", "report", "secret"])  # noqa: FLY002
VALID_KEY = Fernet.generate_key().decode()
# Django < 6.0 takes (name, address) pairs; 6.0 deprecates them.
ADMINS = (
    ["ops@example.com"] if django.VERSION >= (6, 0) else [("Ops", "ops@example.com")]
)


def _exc_info(exception_type, call):
    try:
        call()
    except exception_type:
        return sys.exc_info()
    pytest.fail(f"{call} did not raise {exception_type.__name__}")


def _debug_page(exc_info):
    reporter = ExceptionReporter(RequestFactory().get("/"), *exc_info)
    return reporter.get_traceback_html() + reporter.get_traceback_text()


def _admin_mail(exc_info):
    """Return what AdminEmailHandler mails to ADMINS for ``exc_info``."""
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Boom", (), exc_info
    )
    record.request = RequestFactory().get("/")
    AdminEmailHandler(include_html=True).emit(record)
    [message] = mail.outbox
    return message.body + "".join(content for content, _type in message.alternatives)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "submission://u:pw@smtp.example.com:587",
            "submission://u:***@smtp.example.com:587",
        ),
        ("smtp://u:p@ss@smtp.example.com", "smtp://u:***@smtp.example.com"),
        ("smtp://u:pa/ss?x#y@smtp.example.com", "smtp://u:***@smtp.example.com"),
        ("submission://apikey:SECRET", "submission://apikey:***"),
        ("submission://apikey:SECRET?timeout=5", "submission://apikey:***"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        (
            "smtp://smtp.example.com:587?timeout=5",
            "smtp://smtp.example.com:587?timeout=5",
        ),
        ("smtp://user@smtp.example.com", "smtp://user@smtp.example.com"),
        ("not a url: a:b@c", "not a url: a:b@c"),
    ],
)
def test_mask_url_password(text, masked):
    assert mask_url_password(text, "***") == masked


@pytest.fixture
def routed_login_failure(db, smtp_server, settings):
    """A RoutingBackend send whose relay rejects the password SECRET."""
    settings.EMAIL_HOSTS = {
        "shop": smtp_server.dsn(
            password=SECRET, query="_default_from_email=a@example.com"
        )
    }
    settings.ADMINS = ADMINS
    return _exc_info(
        DeliveryFailed,
        lambda: RoutingBackend().send_messages(
            [EmailMessage("Hi", "x", "a@example.com", ["to@example.org"])]
        ),
    )


@pytest.mark.parametrize("debug", [False, True])
def test_admin_mail_of_a_routing_failure_hides_the_password(
    routed_login_failure, settings, debug
):
    settings.DEBUG = debug
    report = _admin_mail(routed_login_failure)
    assert "RoutingBackend" in report
    assert "SMTPAuthenticationError" in report  # The cause, with its frames.
    assert "EMAIL_HOSTS" in report
    assert SECRET not in report


@pytest.mark.parametrize("debug", [False, True])
def test_debug_page_hides_email_hosts_passwords(routed_login_failure, settings, debug):
    settings.DEBUG = debug
    report = _debug_page(routed_login_failure)
    assert "EMAIL_HOSTS" in report
    assert SECRET not in report


@override_settings(EMAIL_HOSTS={"shop": f"submission://apikey:{SECRET}"})
def test_debug_page_hides_a_password_given_without_host(db):
    report = _debug_page(
        _exc_info(ImproperlyConfigured, lambda: get_connection("shop"))
    )
    assert "not a port number" in report
    assert SECRET not in report


# The check asks the configured filter


def _w006(**overrides):
    with override_settings(**overrides):
        return [m.id for m in checks.run_checks() if m.id == "email_hosts.W006"]


def test_w006_warns_that_djangos_own_filter_shows_email_hosts_passwords():
    assert _w006(
        EMAIL_HOSTS={"shop": f"submission://u:{SECRET}@smtp.example.com"},
        DEFAULT_EXCEPTION_REPORTER_FILTER="django.views.debug.SafeExceptionReporterFilter",
    ) == ["email_hosts.W006"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"EMAIL_HOSTS": {"shop": f"submission://u:{SECRET}@smtp.example.com"}},
        {
            "EMAIL_HOSTS": {"shop": "submission://u@smtp.example.com"},
            "DEFAULT_EXCEPTION_REPORTER_FILTER": "django.views.debug.SafeExceptionReporterFilter",
        },
    ],
)
def test_w006_is_quiet_when_no_password_shows(overrides):
    assert _w006(**overrides) == []


# Keys


def _key_errors(**overrides):
    with override_settings(**overrides):
        return [
            m.id
            for m in checks.run_checks(include_deployment_checks=True)
            if m.id in {"email_hosts.E013", "email_hosts.W005", "email_hosts.W001"}
        ]


@pytest.mark.parametrize("keys", ["a-long-string-used-as-one-key", [], [""], [None], 7])
def test_fernet_keys_must_be_a_list_of_keys(db, keys):
    with (
        override_settings(FERNET_KEYS=keys),
        pytest.raises(
            ImproperlyConfigured, match="FERNET_KEYS must be a non-empty list"
        ),
    ):
        EmailHost.objects.create(key="shop", dsn="console://")
    assert _key_errors(FERNET_KEYS=keys) == ["email_hosts.E013"]


def test_short_keys_draw_a_deploy_warning():
    assert _key_errors(FERNET_KEYS=["k" * 32, "short"]) == ["email_hosts.W005"]


def test_long_keys_pass():
    assert _key_errors(FERNET_KEYS=["k" * 32]) == []


@pytest.fixture
def invalid_raw_key(db, settings):
    """FERNET_USE_HKDF = False with a valid key and one that is no Fernet key."""
    settings.FERNET_USE_HKDF = False
    settings.FERNET_KEYS = [VALID_KEY, "not-a-fernet-key-" + SECRET]
    settings.ADMINS = ADMINS
    return _exc_info(
        ImproperlyConfigured,
        lambda: EmailHost.objects.create(key="shop", dsn="console://"),
    )


def test_an_invalid_raw_key_is_named_by_position(invalid_raw_key):
    assert str(invalid_raw_key[1]).startswith(
        "FERNET_KEYS[1] is not a Fernet key, which FERNET_USE_HKDF = False requires"
    )
    assert _key_errors(FERNET_USE_HKDF=False) == ["email_hosts.E013"]


@pytest.mark.parametrize("debug", [False, True])
def test_reports_of_an_invalid_key_hold_no_key_material(
    invalid_raw_key, settings, debug
):
    settings.DEBUG = debug
    for report in (_debug_page(invalid_raw_key), _admin_mail(invalid_raw_key)):
        assert "FERNET_KEYS[1] is not a Fernet key" in report
        assert VALID_KEY not in report
        assert SECRET not in report
