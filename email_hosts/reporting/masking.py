"""
Mask the passwords of URLs such as DSNs (``scheme://user:password@host``)
wherever they appear: in text, in bytes, inside containers, and in the
``repr()`` of any other value. Masking too much is better than too little.
"""

import re
from urllib.parse import unquote

from django.template.defaultfilters import pprint
from django.views.decorators.debug import sensitive_variables


#: ``://`` after a URL's scheme. Found as fixed text, then the scheme is
#: read backwards: a pattern that matched the scheme first would take
#: quadratic time over a long run of letters.
_SLASHES = re.compile(r"://")
_SCHEME_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-"
)
_MAX_SCHEME = 32
#: What follows ``host:`` when it is a port, not a password.
_PORT = re.compile(r"\d+(?:[/?#]|$)")
#: A URL lies within one token: text between whitespace, or in HTML also
#: between tags and attribute quotes, so that masking never swallows markup.
TEXT = re.compile(r"\S+")
HTML = re.compile(r'[^\s<>"]+')
#: A token that may hold a URL: written out, JSON-escaped, or percent-encoded.
_MAYBE_A_URL = re.compile(r":/|:\\/|%(?:25)*3a", re.IGNORECASE)
#: How many times a token is percent-decoded, for URLs encoded twice.
_DECODINGS = 3
#: Containers deeper than this are masked as their repr() text.
_MAX_DEPTH = 20


@sensitive_variables()
def mask_text(text, substitute, *, tokens=TEXT):
    """
    Return ``text`` with the password of every URL in it replaced by
    ``substitute``, also of URLs JSON-escaped (``:\\/\\/``) or percent-encoded
    in a query string (once or more). A token that held one is shown
    decoded. Takes time linear in the length of ``text``.
    """
    if not _MAYBE_A_URL.search(text):
        return text
    pieces, done = [], 0
    for token in tokens.finditer(text):
        if not _MAYBE_A_URL.search(token.group()):
            continue
        masked = _mask_token(token.group(), substitute)
        if masked is not None:
            pieces += [text[done : token.start()], masked]
            done = token.end()
    return "".join([*pieces, text[done:]]) if pieces else text


@sensitive_variables()
def _mask_token(token, substitute):
    """Return ``token`` decoded and masked, or None if it holds no password."""
    view = token.replace("\\/", "/")
    for _ in range(_DECODINGS):
        if "%" not in view or (decoded := unquote(view)) == view:
            break
        view = decoded
    return _mask_url(view, substitute)


@sensitive_variables()
def _mask_url(view, substitute):
    """
    Return ``view`` with the password of the first URL that has one masked,
    to the end of ``view``, or None. A password with an unquoted ``@`` runs
    to the last ``@``; one given without ``@host``, or cut off, to the end.
    Each character is looked at a bounded number of times.
    """
    last_at = view.rfind("@")
    next_colon = next_bracket = -2  # Not looked for yet.
    ports = {}
    for match in _SLASHES.finditer(view):
        start = match.end()
        if not _follows_a_scheme(view, match.start()):
            continue
        if start < last_at:
            # The first URL before the last "@" decides for all of them: a
            # later one's user part is a piece of this one's.
            colon = view.find(":", start, last_at)
            if colon != -1:
                return f"{view[:colon]}:{substitute}{view[last_at:]}"
            continue
        if next_colon != -1 and next_colon < start:
            next_colon = view.find(":", start)
        if next_colon == -1:
            return None  # No ":" after here: no password either.
        colon = next_colon
        if view.startswith("[", start):  # An IPv6 address: its colons are no password.
            if next_bracket != -1 and next_bracket < start:
                next_bracket = view.find("]", start)
            if next_bracket == -1:
                continue
            colon = next_bracket + 1 if view.startswith(":", next_bracket + 1) else -1
            if colon == -1:
                continue
        if colon not in ports:
            ports[colon] = bool(_PORT.match(view, colon + 1))
        if not ports[colon]:
            return f"{view[:colon]}:{substitute}"
    return None


def _follows_a_scheme(text, position):
    """Return whether a URL scheme (a letter, then letters, digits, +.-) ends here."""
    start = position
    while (
        start > 0
        and position - start < _MAX_SCHEME
        and text[start - 1] in _SCHEME_CHARACTERS
    ):
        start -= 1
    return start < position and text[start].isascii() and text[start].isalpha()


class Shown:
    """A value as a report shows it: its ``repr()`` is the masked text."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def mask_value(value, substitute):
    """
    Return ``value`` with every URL password in it masked: strings and bytes
    as such, builtin containers as copies of themselves, and anything else
    as :class:`Shown`, its ``repr()`` masked, if that held a password. A
    value that cannot even be shown is replaced by ``substitute``.
    """
    try:
        return _mask(value, substitute, depth=0, open_ids=set())
    except Exception:  # noqa: BLE001 -- a report must never fail over a value.
        return Shown(substitute)


@sensitive_variables()
def _mask(value, substitute, *, depth, open_ids):
    if isinstance(value, str):
        return mask_text(value, substitute)
    if isinstance(value, bytes | bytearray):
        # Latin-1 maps every byte to one character and back.
        text = bytes(value).decode("latin-1")
        masked = mask_text(text, substitute)
        return value if masked == text else type(value)(masked.encode("latin-1"))
    container = type(value) in (dict, list, tuple, set, frozenset) or (
        isinstance(value, tuple) and hasattr(value, "_fields")  # A named tuple.
    )
    if not container or depth >= _MAX_DEPTH:
        return _mask_shown(value, substitute)
    if id(value) in open_ids:
        return Shown(f"<Recursion on {type(value).__name__}>")
    open_ids.add(id(value))
    try:
        return _mask_container(value, substitute, depth=depth, open_ids=open_ids)
    finally:
        open_ids.discard(id(value))


@sensitive_variables()
def _mask_container(value, substitute, *, depth, open_ids):
    """Return a copy of a builtin container, or named tuple, with items masked."""

    def each(item):
        return _mask(item, substitute, depth=depth + 1, open_ids=open_ids)

    if isinstance(value, dict):
        return {each(key): each(item) for key, item in value.items()}
    items = [each(item) for item in value]
    if isinstance(value, tuple) and type(value) is not tuple:
        return _named_tuple(value, items, substitute)
    return type(value)(items)


@sensitive_variables()
def _named_tuple(value, items, substitute):
    """
    Return a named tuple of ``items`` like ``value``, or a plain tuple. The
    ``netloc`` of ``urlsplit()``'s and ``urlparse()``'s results, which has
    no scheme before it, is masked as the authority it is.
    """
    if "netloc" in value._fields:
        index = value._fields.index("netloc")
        netloc = items[index]
        if isinstance(netloc, bytes):
            masked = _masked_netloc(netloc.decode("latin-1"), substitute)
            netloc = masked.encode("latin-1")
        elif isinstance(netloc, str):
            netloc = _masked_netloc(netloc, substitute)
        items[index] = netloc
    try:
        return type(value)._make(items)
    except Exception:  # noqa: BLE001 -- a custom __new__ may refuse them.
        return tuple(items)


@sensitive_variables()
def _masked_netloc(netloc, substitute):
    """Return a URL's netloc (``user:password@host``) with its password masked."""
    masked = _mask_url(f"netloc://{netloc}", substitute)
    return netloc if masked is None else masked.removeprefix("netloc://")


@sensitive_variables()
def _mask_shown(value, substitute):
    """Return ``value``, or :class:`Shown` if its text holds a password."""
    text = pprint(value)  # As the report shows it; never raises.
    masked = mask_text(text, substitute)
    return value if masked == text else Shown(masked)
