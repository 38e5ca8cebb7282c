"""The DSN rules, shared by the model, forms, checks and get_connection()."""

from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, strategies

from email_hosts.dsn import Transport, format_dsn, parse_dsn
from email_hosts.dsn.parsing import _COMMON_SMTP_DSN, _parse_any, _parse_common
from tests.fuzzing import fuzz


SECRET = "hunter2-very-secret"


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "submission://user:pass@smtp.example.com",
            Transport(
                "submission", "smtp.example.com", 587, "user", "pass", use_tls=True
            ),
        ),
        (
            "submission://user:pass@smtp.example.com:2525?timeout=10",
            Transport(
                "submission", "smtp.example.com", 2525, "user", "pass", True, False, 10
            ),
        ),
        ("smtp://mx.example.com", Transport("smtp", "mx.example.com", 25)),
        (
            "smtp://mx.example.com?ssl",
            Transport("smtp", "mx.example.com", 465, use_ssl=True),
        ),
        (
            "smtp://mx.example.com?tls=1",
            Transport("smtp", "mx.example.com", 25, use_tls=True),
        ),
        (
            "submission://mx.example.com?ssl",
            Transport("submission", "mx.example.com", 465, use_ssl=True),
        ),
        ("console://", Transport("console")),
        ("locmem://", Transport("locmem")),
        (
            "dummy://?_default_from_email=Shop%20%3Cshop%40example.com%3E",
            Transport("dummy", default_from_email="Shop <shop@example.com>"),
        ),
        (
            "smtp://[::1]:2525",
            Transport("smtp", "::1", 2525),
        ),
    ],
)
def test_accepts_every_speckenv_scheme_and_parameter(dsn, expected):
    assert parse_dsn(dsn) == expected


@pytest.mark.parametrize("password", ["p@ss", "p:ss", "p/ss", "p?s#s%", "all@:/?#"])
def test_quoted_special_characters_in_password_survive(password):
    dsn = f"submission://user:{quote(password, safe='')}@smtp.example.com"
    assert parse_dsn(dsn).password == password


def _error(dsn):
    with pytest.raises(ValidationError) as excinfo:
        parse_dsn(dsn)
    return excinfo.value


@pytest.mark.parametrize(
    ("dsn", "code", "message"),
    [
        ("", "dsn_empty", "Enter a DSN such as smtp://smtp.example.com."),
        ("smtps://smtp.example.com", "dsn_scheme", "Unknown scheme 'smtps'."),
        (
            "smtp://smtp.example.com?timout=5",
            "dsn_unknown_parameter",
            "Unknown query parameter 'timout'.",
        ),
        (
            "smtp://smtp.example.com?timeout=5&timeout=6",
            "dsn_repeated_parameter",
            "'timeout' is given more than once.",
        ),
        ("smtp://u@smtp.example.com:abc", "dsn_port_not_a_number", "Port 'abc' is"),
        ("smtp://smtp.example.com:abc", "dsn_port_or_password", "not a port number"),
        ("smtp://smtp.example.com:0", "dsn_port_range", "The port is out of range"),
        ("smtp://smtp.example.com:65536", "dsn_port_range", "out of range"),
        ("smtp://smtp.example.com?timeout=%C2%B2", "dsn_timeout", "Timeout '²'"),
        ("smtp://h.example?timeout=3601", "dsn_timeout", "from 1 to 3600"),
        (f"smtp://h.example?timeout={10**20}", "dsn_timeout", "from 1 to 3600"),
        ("smtp://mail..example.com", "dsn_host", "'mail..example.com' is not a host"),
        ("smtp://.example.com", "dsn_host", "'.example.com' is not a host name"),
        (f"smtp://{'a' * 64}.example.com", "dsn_host", "1 to 63 letters"),
        ("smtp://-bad.example.com", "dsn_host", "is not a host name"),
        ("smtp.example.com", "dsn_no_scheme", "must start with a scheme"),
        ("smtp://h.example?ssl_cafile=ca.pem", "dsn_tls_file", "ssl_cafile must be"),
        ("smtp://h.example?ssl_keyfile=/k.pem", "dsn_keyfile_alone", "needs ssl_cert"),
        ("smtp://smtp.example.com?timeout=0", "dsn_timeout", "Timeout '0' is not"),
        ("smtp://smtp.example.com?timeout=-3", "dsn_timeout", "Timeout '-3' is not"),
        ("smtp://smtp.example.com?timeout=1.5", "dsn_timeout", "Timeout '1.5'"),
        ("smtp://smtp.example.com?timeout=", "dsn_timeout", "Timeout '' is not"),
        ("smtp://", "dsn_missing_host", "smtp:// needs a host"),
        ("submission://user:pw@:587", "dsn_missing_host", "submission:// needs a host"),
        ("smtp://smtp.example.com?ssl&tls", "dsn_ssl_and_tls", "exclude each other"),
        ("smtp://smtp.example.com?ssl=false", "dsn_flag_value", "ssl takes no value"),
        (" smtp://smtp.example.com", "dsn_whitespace", "must not contain spaces"),
        ("smtp://smtp.example.com\r\n", "dsn_whitespace", "line breaks"),
        ("smtp://smtp.exa mple.com", "dsn_whitespace", "must not contain spaces"),
        ("smtp://smtp.example.com/path", "dsn_trailing_text", "must end after"),
        ("console://host", "dsn_local_netloc", "console:// takes no host"),
        ("locmem://?timeout=5", "dsn_local_parameters", "does not take timeout"),
        (
            "smtp://smtp.example.com?_default_from_email=not-an-address",
            "dsn_default_from_email",
            "_default_from_email 'not-an-address' is not a valid sender.",
        ),
        (
            "smtp://smtp.example.com?_default_from_email=a%40b.com%0ABcc%3Ax%40y.com",
            "dsn_default_from_email",
            "is not a valid sender",
        ),
        ("smtp://usér:pw@smtp.example.com", "dsn_non_ascii", "must be ASCII"),
    ],
)
def test_refuses_malformed_dsn_naming_the_problem(dsn, code, message):
    error = _error(dsn)
    assert error.code == code
    assert message in error.messages[0]


def test_numeric_password_without_host_is_not_quoted_as_a_port():
    error = _error("submission://apikey:73196218")
    assert "73196218" not in error.messages[0]


@pytest.mark.parametrize(
    ("dsn", "code"),
    [
        (
            f"smtp://user:{quote('pässwörd')}{SECRET}@smtp.example.com",
            "dsn_password_non_ascii",
        ),
        (f"smtp://us%C3%A9r:{SECRET}@smtp.example.com", "dsn_user_non_ascii"),
        (f"smtp://user:{SECRET}%0D%0A@smtp.example.com", "dsn_password_control"),
        (f"smtp://user:{SECRET}/x@smtp.example.com", "dsn_unquoted_credentials"),
        (f"smtp://user:{SECRET}?x@smtp.example.com", "dsn_unquoted_credentials"),
        (f"smtp://user:{SECRET}#x@smtp.example.com", "dsn_unquoted_credentials"),
        (f"smtp://user:{SECRET}@smtp.example.com:abc", "dsn_port_not_a_number"),
        (f"smtp://user:{SECRET}@smtp.example.com?timout=1", "dsn_unknown_parameter"),
        (f"smtp://user:{SECRET}@smtp.example.com?ssl&tls", "dsn_ssl_and_tls"),
        (f"smtp://user:{SECRET[:4]}:{SECRET[4:]}@[::1", "dsn_not_a_url"),
        # The audit's finding: user:password without @host read as host:port.
        (f"submission://apikey:{SECRET}", "dsn_port_or_password"),
        ("submission://apikey:73196218", "dsn_port_range"),
        (f"submission://apikey:{SECRET}?x", "dsn_port_or_password"),
        # A password such as "2525?hunter2" without @host: the query is its rest.
        (f"submission://apikey:2525?{SECRET}", "dsn_unknown_parameter"),
        (f"submission://apikey:2525?timeout={SECRET}", "dsn_timeout"),
        (
            f"submission://apikey:2525?_default_from_email={SECRET}",
            "dsn_default_from_email",
        ),
        (f"{SECRET}:x@smtp.example.com", "dsn_no_scheme"),
    ],
)
def test_error_never_repeats_the_password(dsn, code):
    error = _error(dsn)
    assert error.code == code
    for message in error.messages:
        assert SECRET[:6] not in message
        assert SECRET[-6:] not in message


def test_password_with_unquoted_at_sign_still_parses():
    assert parse_dsn("smtp://user:p@ss@smtp.example.com").password == "p@ss"


def test_default_from_email_with_at_sign_is_no_credentials_problem():
    transport = parse_dsn(
        "smtp://smtp.example.com:25?_default_from_email=a@example.com"
    )
    assert transport.default_from_email == "a@example.com"


def test_transport_repr_hides_the_password():
    transport = parse_dsn(f"smtp://user:{SECRET}@smtp.example.com")
    assert SECRET not in repr(transport)
    assert SECRET not in str(transport)


@pytest.mark.parametrize(
    "dsn",
    [
        "submission://user:pass@smtp.example.com:587",
        "submission://smtp.example.com:465?ssl&timeout=5",
        "smtp://u%40x:p%3A%2F%3F%23%25@mx.example.com:25?tls",
        "smtp://[::1]:2525",
        "smtp://mx.example.com:25?_default_from_email=Shop%20%3Cshop%40example.com%3E",
        "console://",
        "locmem://?_default_from_email=a%40example.com",
    ],
)
def test_format_dsn_is_read_back_by_parse_dsn(dsn):
    transport = parse_dsn(dsn)
    assert parse_dsn(format_dsn(transport)) == transport


@pytest.mark.parametrize(
    ("dsn", "summary"),
    [
        (
            "submission://user:pw@smtp.example.com",
            "submission://user@smtp.example.com:587 (STARTTLS)",
        ),
        ("smtp://mx.example.com?ssl", "smtp://mx.example.com:465 (SSL/TLS)"),
        ("smtp://mx.example.com", "smtp://mx.example.com:25 (no TLS)"),
        ("console://", "console://"),
    ],
)
def test_summary_names_everything_but_the_password(dsn, summary):
    assert parse_dsn(dsn).summary() == summary


COMMON_OR_NEARLY = strategies.one_of(
    strategies.from_regex(_COMMON_SMTP_DSN, fullmatch=True),
    # Near misses: the full parser must have the last word on these.
    strategies.builds(
        "".join,
        strategies.lists(
            strategies.sampled_from(
                [
                    "submission://",
                    "smtp://",
                    "u",
                    ":",
                    "@",
                    "%3A",
                    "%C3",
                    "%00",
                    "smtp.example.com",
                    "..",
                    "_",
                    "-",
                    "A",
                    ":0",
                    ":587",
                    ":65536",
                    "?timeout=",
                    "5",
                    "3601",
                    "?ssl",
                    "/",
                    "#",
                ]
            ),
            max_size=8,
        ),
    ),
)


@given(COMMON_OR_NEARLY)
@fuzz()
def test_the_quick_path_agrees_with_the_full_parser(dsn):
    common = _parse_common(dsn)
    if common is not None:
        assert _parse_any(dsn) == common


@pytest.mark.parametrize(
    "dsn",
    [
        "submission://user:pass@smtp.example.com",
        "submission://shop%40example.com:p%2Fss@SMTP.Example.com:2525?timeout=10",
        "smtp://mx.example.com",
        "smtp://relay:@10.0.0.1:25",
    ],
)
def test_the_common_dsns_take_the_quick_path(dsn):
    assert _parse_common(dsn) == _parse_any(dsn)


@pytest.mark.parametrize(
    "dsn",
    [
        "submission://user:pass@smtp.example.com:65536",
        "submission://user:pass@smtp.example.com?timeout=3601",
        "submission://user:p%00ss@smtp.example.com",
        "submission://user:pass@mail..example.com",
        "submission://user:pass@smtp.example.com?ssl",
        "submission://user:pass@[::1]",
    ],
)
def test_everything_else_goes_to_the_full_parser(dsn):
    assert _parse_common(dsn) is None


@pytest.mark.parametrize("separator", ["?", "/", "#"])
def test_a_password_with_at_and_a_separator_is_named_not_quoted(separator):
    dsn = f"submission://user:p@ss{separator}word@smtp.example.com?timeout=5"
    with pytest.raises(ValidationError) as excinfo:
        parse_dsn(dsn)
    assert excinfo.value.code == "dsn_unquoted_credentials"
    assert not {"ss", "word"} & set(" ".join(excinfo.value.messages).split("'"))


# Passwords of letters that no error message holds, and URL separators.
PASSWORDS = strategies.text(alphabet="QXZJ@?/#:%", min_size=1, max_size=12)


@given(PASSWORDS)
@fuzz()
def test_no_error_holds_a_piece_of_an_unquoted_password(password):
    dsn = f"submission://user:{password}@smtp.example.com:587?timeout=5"
    try:
        parse_dsn(dsn)
    except ValidationError as exc:
        assert not set("QXZJ") & set(" ".join(exc.messages))
