"""
Mask the passwords of URLs such as DSNs (``scheme://user:password@host``)
wherever they appear: in text, in bytes, inside containers, and in the
``repr()`` of any other value. Masking too much is better than too little.
"""

import re
from urllib.parse import unquote

from django.template.defaultfilters import pprint
from django.views.decorators.debug import sensitive_variables


#: ``://`` after a URL's scheme, written out or percent-encoded (a DSN in a
#: query string). Found as fixed text, then the scheme is read backwards:
#: a pattern that matched the scheme first would take quadratic time over
#: a long run of letters.
_SLASHES = re.compile(r"://|%3A%2F%2F", re.IGNORECASE)
_SCHEME_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-"
)
_MAX_SCHEME = 32
#: What follows ``host:`` when it is a port, not a password.
_PORT = re.compile(r"\d+(?:[/?#]|$)")
#: Where a URL ends in text: at whitespace. In HTML also at a tag or an
#: attribute's quote, so that masking never swallows markup.
TEXT = re.compile(r"\s")
HTML = re.compile(r"[\s<>\"]")
#: Containers deeper than this are masked as their repr() text.
_MAX_DEPTH = 20


@sensitive_variables()
def _masked_authority(rest, substitute):
    """
    Return what follows ``scheme://`` with its password replaced by
    ``substitute``, or None if it holds none. A password with an unquoted
    ``@`` runs to the last ``@``; one given without ``@host``, or cut off,
    runs to the end.
    """
    userinfo, at, host = rest.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        return f"{user}:{substitute}@{host}" if colon else None
    if rest.startswith("["):  # An IPv6 address: its colons are no password.
        address, bracket, rest = rest.partition("]")
        if not bracket:
            return None
        if not rest.startswith(":") or _PORT.match(rest[1:]):
            return None
        return f"{address}]:{substitute}"
    host, colon, after = rest.partition(":")
    if colon and not _PORT.match(after):
        return f"{host}:{substitute}"
    return None


@sensitive_variables()
def mask_text(text, substitute, *, ends=TEXT):
    """
    Return ``text`` with the password of every URL in it replaced by
    ``substitute``; a URL ends where ``ends`` matches. Takes time linear in
    the length of ``text``.
    """
    pieces, done, region_end = [], 0, -1
    for match in _SLASHES.finditer(text):
        if match.start() < done or not _follows_a_scheme(text, match.start()):
            continue  # Inside a URL masked already, or no URL.
        encoded = match.group() != "://"
        if match.end() >= region_end:  # Else the same region as the last one.
            region_end = _end_of(text, match.end(), ends)
        end = region_end
        if encoded:  # A percent-encoded URL is one query parameter's value.
            ampersand = text.find("&", match.end(), end)
            end = end if ampersand == -1 else ampersand
        rest = text[match.end() : end]
        masked = _masked_authority(unquote(rest) if encoded else rest, substitute)
        if masked is not None:
            pieces += [text[done : match.end()], masked]
            done = end
    return "".join([*pieces, text[done:]]) if pieces else text


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


def _end_of(text, start, ends):
    end = ends.search(text, start)
    return len(text) if end is None else end.start()


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
            masked = _masked_authority(netloc.decode("latin-1"), substitute)
            netloc = netloc if masked is None else masked.encode("latin-1")
        elif isinstance(netloc, str):
            netloc = _masked_authority(netloc, substitute) or netloc
        items[index] = netloc
    try:
        return type(value)._make(items)
    except Exception:  # noqa: BLE001 -- a custom __new__ may refuse them.
        return tuple(items)


@sensitive_variables()
def _mask_shown(value, substitute):
    """Return ``value``, or :class:`Shown` if its text holds a password."""
    text = pprint(value)  # As the report shows it; never raises.
    masked = mask_text(text, substitute)
    return value if masked == text else Shown(masked)
