"""
The error-report filter and reporter mask every URL password, whatever
holds it, and never break the report: Django's real ExceptionReporter and
AdminEmailHandler render each case, with DEBUG on and off.
"""

import collections
import logging
import sys
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlsplit

import django
import pytest
from django.core import checks, mail
from django.test import RequestFactory, override_settings
from django.utils.log import AdminEmailHandler
from django.views.debug import get_exception_reporter_class
from hypothesis import given, strategies

from email_hosts.reporting import ExceptionReporterFilter
from email_hosts.reporting.masking import mask_text, mask_value
from tests.fuzzing import fuzz


# Joined at run time: reports quote source lines, and must not find it there.
SECRET = "-".join(["Frame", "Report", "Secret"])  # noqa: FLY002
DSN = f"smtp://relay-user:{SECRET}@smtp.example.com:587"
OURS = {
    "DEFAULT_EXCEPTION_REPORTER_FILTER": "email_hosts.reporting.ExceptionReporterFilter",
    "DEFAULT_EXCEPTION_REPORTER": "email_hosts.reporting.ExceptionReporter",
}
ADMINS = (
    ["ops@example.com"] if django.VERSION >= (6, 0) else [("Ops", "ops@example.com")]
)


def _raise_holding(value):
    """Raise an error in a frame whose local variable ``held`` is ``value``."""
    held = value  # noqa: F841 -- the report shows it
    raise ValueError("boom")


def _exc_info(value):
    try:
        _raise_holding(value)
    except ValueError:
        return sys.exc_info()
    raise AssertionError


def _reports(exc_info, request=None):
    """Return the debug page (HTML and text) and the admin mail for ``exc_info``."""
    request = request or RequestFactory().get("/")
    reporter_class = get_exception_reporter_class(request)
    reporter = reporter_class(request, *exc_info)
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Boom", (), exc_info
    )
    record.request = request
    mail.outbox.clear()
    AdminEmailHandler(include_html=True).emit(record)
    [message] = mail.outbox
    admin_mail = message.body + "".join(c for c, _type in message.alternatives)
    return reporter.get_traceback_html() + reporter.get_traceback_text() + admin_mail


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def reporting(request, settings):
    settings.DEBUG = request.param
    settings.ADMINS = ADMINS
    for name, value in OURS.items():
        setattr(settings, name, value)


Point = collections.namedtuple("Point", "x y")


class CustomSequence(Sequence):
    def __init__(self, *items):
        self.items = items

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)

    def __repr__(self):
        return f"CustomSequence{self.items!r}"


class CustomMapping(Mapping):
    def __init__(self, **items):
        self.items = items

    def __getitem__(self, key):
        return self.items[key]

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __repr__(self):
        return f"CustomMapping({self.items!r})"


class ReprRaises:
    def __repr__(self):
        raise RuntimeError(f"cannot show {DSN}")


class ReprShowsTheDsn:
    def __repr__(self):
        return f"<Relay {DSN}>"


def _recursive():
    value = [DSN]
    value.append(value)
    return value


VALUES = {
    "a named tuple (urlsplit)": urlsplit(DSN),
    "a named tuple of our own": Point(DSN, 1),
    "bytes": DSN.encode(),
    "a bytearray": bytearray(DSN.encode()),
    "a set": {DSN, "other"},
    "a frozenset": frozenset({DSN}),
    "longer text": f"connecting with {DSN} now",
    "a dict key": {DSN: 1},
    "a custom sequence": CustomSequence(DSN),
    "a custom mapping": CustomMapping(relay=DSN),
    "a recursive list": _recursive(),
    "a repr that raises": ReprRaises(),
    "a repr that shows it": ReprShowsTheDsn(),
    "huge text": "x " * 5000 + DSN + " y" * 5000,
    "huge bytes": b"x" * 5000 + DSN.encode() + b"y" * 5000,
    "a percent-encoded DSN": f"next={quote(DSN, safe='')}&x=1",
    "a DSN given without host": f"submission://apikey:{SECRET}",
    "deep nesting": [[[[[[[[[[[[[[[[[[[[[[[[[DSN]]]]]]]]]]]]]]]]]]]]]]]]],
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_a_frame_value_is_masked_and_the_report_renders(reporting, value):
    report = _reports(_exc_info(value))
    assert "_raise_holding" in report  # The frame is there...
    assert SECRET not in report  # ...without the password.


def test_a_named_tuple_in_a_frame_no_longer_breaks_the_report(reporting):
    report = _reports(_exc_info(urlsplit("https://example.com/a")))
    assert "SplitResult" in report
    assert "ValueError" in report


def _request_carrying_the_dsn():
    return RequestFactory().post(
        f"/relay/?plain={DSN}&dsn={quote(DSN, safe='')}&twice={quote(quote(DSN))}",
        {"relay": DSN, "note": f"use {DSN}", "quoted": quote(DSN)},
        HTTP_REFERER=f"https://example.com/?dsn={quote(DSN, safe='')}",
    )


def test_the_request_url_get_post_and_headers_are_masked(reporting):
    request = _request_carrying_the_dsn()
    report = _reports(_exc_info("nothing here"), request=request)
    assert "/relay/" in report and "relay" in report
    assert SECRET not in report


def test_an_exception_message_is_masked(reporting):
    try:
        raise ValueError(f"could not reach {DSN}")
    except ValueError:
        exc_info = sys.exc_info()
    report = _reports(exc_info)
    assert "could not reach smtp://relay-user:" in report
    assert SECRET not in report


def test_a_setting_holding_a_dsn_anywhere_is_masked(settings):
    settings.CACHES_NOTE = f"cache at {DSN}"
    settings.SOME_BYTES = DSN.encode()
    settings.SOME_TUPLE = Point(DSN, 2)
    safe = ExceptionReporterFilter().get_safe_settings()
    assert SECRET not in repr(safe)


# W013: our filter without our reporter leaves the URL and GET unmasked.


def _w013(**overrides):
    with override_settings(**overrides):
        return [m.id for m in checks.run_checks() if m.id == "email_hosts.W013"]


def test_w013_asks_for_the_reporter_beside_the_filter():
    django_s = "django.views.debug.ExceptionReporter"
    assert _w013(DEFAULT_EXCEPTION_REPORTER=django_s) == ["email_hosts.W013"]
    assert _w013(**OURS) == []


def test_w013_is_quiet_for_django_s_own_filter():
    # W006 says what to do there; W013 follows once the filter is ours.
    assert (
        _w013(
            DEFAULT_EXCEPTION_REPORTER_FILTER="django.views.debug.SafeExceptionReporterFilter"
        )
        == []
    )


# Properties: any value, in any frame, in any container.

leaves = (
    strategies.sampled_from([DSN, DSN.encode(), f"x {DSN} y", ReprShowsTheDsn()])
    | strategies.text(max_size=20)
    | strategies.binary(max_size=20)
    | strategies.integers()
    | strategies.none()
    | strategies.builds(ReprRaises)
)
values = strategies.recursive(
    leaves,
    lambda children: (
        strategies.lists(children, max_size=3)
        | strategies.lists(children, max_size=3).map(tuple)
        | strategies.builds(Point, children, children)
        | strategies.dictionaries(strategies.text(max_size=5), children, max_size=3)
        | strategies.lists(strategies.sampled_from([DSN, "a", 1]), max_size=3).map(set)
        | strategies.builds(CustomSequence, children)
        | strategies.builds(lambda item: CustomMapping(item=item), children)
    ),
    max_leaves=8,
)


@fuzz(200)
@given(value=values)
def test_masking_any_value_never_raises_and_hides_the_password(value):
    masked = mask_value(value, "***")
    assert SECRET not in repr(masked)


@fuzz(25)
@given(value=values)
def test_the_real_report_of_any_frame_value_hides_the_password(value):
    with override_settings(**OURS, ADMINS=ADMINS, DEBUG=False):
        assert SECRET not in _reports(_exc_info(value))


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"see {DSN}, then", "see smtp://relay-user:***@smtp.example.com:587, then"),
        ("http://[::1]:8000/admin/", "http://[::1]:8000/admin/"),
        ("http://localhost:8000/admin/", "http://localhost:8000/admin/"),
        ("https://example.com/a:b@c", "https://example.com/a:***@c"),
        (
            f"dsn={quote(DSN, safe='')}&page=2",
            "dsn=smtp://relay-user:***@smtp.example.com:587&page=2",
        ),
        # quote() leaves "/" as it is by default.
        (f"next={quote(DSN)}", "next=smtp://relay-user:***@smtp.example.com:587"),
        # Encoded twice, and JSON-escaped.
        (
            quote(quote(DSN, safe=""), safe=""),
            "smtp://relay-user:***@smtp.example.com:587",
        ),
        (DSN.replace("/", "\\/"), "smtp://relay-user:***@smtp.example.com:587"),
        # A plain URL and an encoded one in one query string: both masked.
        (
            f"a=smtp://u:{SECRET}@h&b={quote(DSN, safe='')}",
            "a=smtp://u:***@smtp.example.com:587",
        ),
        ("http://[::1]:8000/a http://[::1]:PW", "http://[::1]:8000/a http://[::1]:***"),
        ("a://b://c:PW", "a://b:***"),  # Too much rather than too little.
        ("http://h:80/x?u=a://b:c", "http://h:80/x?u=a://b:***"),
    ],
)
def test_mask_text_finds_urls_in_longer_text(text, masked):
    assert mask_text(text, "***") == masked
