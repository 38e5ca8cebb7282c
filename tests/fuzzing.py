"""
Hypothesis settings for the property tests: reproducible by default, and
wider and random with EMAIL_HOSTS_FUZZ_EXAMPLES set (for a long run).
"""

import os
import string

from hypothesis import settings


def fuzz(examples=300, **options):
    """Return the settings of a property test that tries ``examples`` inputs."""
    return settings(
        max_examples=int(os.environ.get("EMAIL_HOSTS_FUZZ_EXAMPLES", examples)),
        deadline=None,
        database=None,
        derandomize="EMAIL_HOSTS_FUZZ_EXAMPLES" not in os.environ,
        **options,
    )


#: Pieces of the inputs that crashed parsers before: unclosed IPv6
#: brackets, URLs with credentials or ports out of range, quoted local
#: parts and header defects that the email package mishandles.
NASTY = (
    "https://[abc",
    "https://[::1]:443/token",
    "http://[::1",
    "https://a:b@[x]/",
    "https://h:99999/",
    "https://u:p@login.example.com/token",
    "http://localhost/o/token/",
    "https://exa mple.com/",
    "//h/",
    "https:",
    "[::1]",
    "[",
    "]",
    "[v1.x]",
    "a@[",
    'Z@[=;Z-Z")',
    '"a b"@example.com',
    '"a@["@example.com',
    "a@[127.0.0.1]",
    "a@[IPv6:::1]",
    "=?utf-8?q?=C3=A9?= <a@example.com>",
    "=?x?q?=?=",
    "g: a@example.com;",
    "a@example.com (c)",
    "a@example.com, b@example.org",
    "<>",
    "\\",
    "%",
    "%zz",
    "%00",
    "é",
    "\u2028",
)


def nasty_text(strategies, *, max_size=40):
    """Return a strategy of short texts built from :data:`NASTY` and noise."""
    noise = strategies.text(
        alphabet=strategies.sampled_from(
            string.ascii_letters + string.digits + ":@/?#&=%.[]-_ ;,()<>\"'\\²é\r\n"
        ),
        max_size=12,
    )
    piece = strategies.sampled_from(NASTY) | noise
    return strategies.lists(piece, max_size=3).map("".join).filter(
        lambda text: len(text) <= max_size
    ) | strategies.text(max_size=max_size)
