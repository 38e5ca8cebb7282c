"""
Queue a plain message as what it says, and render it when it leaves: most
of a site's mail (password resets, notifications) then costs the request no
MIME rendering, the larger part of queueing it (docs/performance.rst).

Only a message whose every part is plain text qualifies: an ``EmailMessage``
or ``EmailMultiAlternatives`` itself (a subclass may render in its own way),
with no attachment and nothing set that Django might render differently
later. Its ``Date`` and ``Message-ID`` are fixed when it is queued, so that
it leaves with the bytes Django renders at once, on each attempt alike. Any
other message is rendered when queued (rendering.py).
"""

import datetime
import email.utils
import json
import re

import django
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.utils import timezone
from django.utils.functional import Promise
from django.views.decorators.debug import sensitive_variables

from email_hosts.outbox.rendering import Rendered, as_bytes, envelope, mime_message


_CLASSES = {"message": EmailMessage, "alternatives": EmailMultiAlternatives}
_KINDS = {cls: kind for kind, cls in _CLASSES.items()}
_ADDRESS_LISTS = ("to", "cc", "bcc", "reply_to")
#: The attributes a message may have and still be queued as what it says.
_CARRIED = frozenset(
    {"subject", "body", "from_email", "extra_headers", "alternatives"}
    | set(_ADDRESS_LISTS)
    | {"content_subtype"}
)
#: A header a message may set and still be queued as what it says: a plain
#: name, none that Django writes from the message's parts or refuses
#: (Bcc); for those it is rendered when queued, where Django checks them.
_PLAIN_HEADER = re.compile(r"[A-Za-z0-9-]{1,64}")
_HEADERS_DJANGO_WRITES = frozenset(
    {"from", "to", "cc", "reply-to", "bcc", "mime-version"}
)
#: A MIME subtype, and a type/subtype, as Django writes them unchecked.
_PLAIN_SUBTYPE = re.compile(r"[a-z0-9.+-]{1,64}")
_PLAIN_MIMETYPE = re.compile(r"[a-z]{1,16}/[a-z0-9.+-]{1,64}")
#: Set by Django's constructor, and not part of what a message says.
_IGNORED = frozenset({"connection", "_connection", "attachments"})
#: The most text a message queued as what it says may hold. Rendered, each
#: character takes at most 13 bytes (4 in UTF-8, each quoted-printable as
#: 3, and a soft line break every 76), so it stays far below a part
#: (message_parts.PART_BYTES), and the outbox's size limit is checked on
#: an upper bound.
MAX_TEXT = 64 * 1024
_BYTES_PER_CHARACTER = 13
#: What the headers Django adds (Subject, From, To, Date, ...) can add to
#: the text's upper bound.
_HEADER_ROOM = 4096


@sensitive_variables()
def as_recipe(message, *, max_bytes):
    """
    Return ``message`` as a ``Rendered`` whose bytes are what it says, to
    render when it leaves, or ``None`` if it must be rendered now: it is not
    plain text, or its rendered size might pass ``max_bytes``. Raise
    ``ValueError`` for an address Django's SMTP backend would refuse.
    """
    kind = _KINDS.get(type(message))
    if kind is None or message.attachments:
        return None
    attributes = set(vars(message)) - _IGNORED
    if not attributes <= _CARRIED:
        return None
    said = {name: getattr(message, name) for name in sorted(attributes)}
    said = _as_plain_text(said)
    if said is None or not _only_plain_parts(said, kind):
        return None
    bound = _BYTES_PER_CHARACTER * _text_length(said) + _HEADER_ROOM
    if bound > min(max_bytes, _BYTES_PER_CHARACTER * MAX_TEXT):
        return None
    headers = {name.lower() for name in said["extra_headers"]}
    pinned = {}
    if "date" not in headers:
        pinned["Date"] = _date_as_django_writes_it()
    if "message-id" not in headers:
        pinned["Message-ID"] = email.utils.make_msgid(domain=DNS_NAME)
    # Where Django would add them: before the message's own headers.
    said["extra_headers"] = pinned | said["extra_headers"]
    from_email, recipients = envelope(message)
    message_id = next(
        (v for k, v in said["extra_headers"].items() if k.lower() == "message-id"), ""
    )
    return Rendered(
        from_email=from_email,
        recipients=recipients,
        message=json.dumps({"kind": kind, **said}, ensure_ascii=False).encode(),
        message_id=message_id,
        render_at_delivery=True,
    )


@sensitive_variables()
def render_recipe(recipe):
    """Return the bytes of the message whose recipe is ``recipe`` (bytes)."""
    said = json.loads(recipe)
    cls = _CLASSES[said.pop("kind")]
    content_subtype = said.pop("content_subtype", None)
    if "alternatives" in said:
        said["alternatives"] = [tuple(pair) for pair in said["alternatives"]]
    said["headers"] = said.pop("extra_headers")
    message = cls(**said)
    if content_subtype is not None:
        message.content_subtype = content_subtype
    # Its envelope was checked and stored when it was queued.
    return as_bytes(mime_message(message))


def _as_plain_text(said):
    """
    Return what a message ``said`` with text alone (lazy text made text),
    or ``None`` if a part of it is not text, or a header holds a line break
    (Django refuses those when it renders: it must do so now).
    """
    plain = {name: _plain(name, value) for name, value in said.items()}
    return None if None in plain.values() else plain


def _plain(name, value):
    """Return the attribute ``name`` of a message, ``value``, as text, or ``None``."""
    if name == "body":
        return str(value) if _is_lazy_text(value) else None
    if name in _ADDRESS_LISTS:
        return list(map(str, value)) if all(map(_is_one_line, value)) else None
    if name == "extra_headers":
        ok = all(map(_is_one_line, [*value, *value.values()]))
        return {str(k): str(v) for k, v in value.items()} if ok else None
    if name == "alternatives":
        pairs = [list(pair) for pair in value]
        ok = all(len(pair) == 2 and all(map(_is_text, pair)) for pair in pairs)
        return pairs if ok else None
    # subject, from_email, content_subtype
    return str(value) if _is_one_line(value) else None


def _only_plain_parts(said, kind):
    """
    Return whether a message ``said`` (text) has only parts that Django
    renders alike whenever it does, and never refuses: else Django must
    render it now, and refuse it now if it does.
    """
    if said["reply_to"] or ("alternatives" in said and kind != "alternatives"):
        return False  # Reply-To is checked as a header; the other ignored.
    if not all(map(_is_utf8, _texts(said))):
        return False  # A lone surrogate: Django 6 writes it, JSON cannot.
    for name in said["extra_headers"]:
        plain = _PLAIN_HEADER.fullmatch(name)
        lower = name.lower()
        if not plain or lower in _HEADERS_DJANGO_WRITES or lower.startswith("content-"):
            return False
    if "content_subtype" in said and not _PLAIN_SUBTYPE.fullmatch(
        said["content_subtype"]
    ):
        return False
    return all(
        _PLAIN_MIMETYPE.fullmatch(mimetype)
        for _content, mimetype in said.get("alternatives", ())
    )


def _texts(said):
    for name, value in said.items():
        if isinstance(value, str):
            yield value
        elif name == "extra_headers":
            yield from (text for pair in value.items() for text in pair)
        elif name == "alternatives":
            yield from (text for pair in value for text in pair)
        else:
            yield from value


def _is_utf8(text):
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_lazy_text(value):
    return isinstance(value, (str, Promise))


def _is_text(value):
    return isinstance(value, str)


def _is_one_line(value):
    return _is_lazy_text(value) and len(f"{value}.".splitlines()) == 1


def _text_length(said):
    return sum(map(len, _texts(said)))


def _date_as_django_writes_it():
    """The ``Date`` header Django's ``EmailMessage.message()`` would add now."""
    if django.VERSION < (6, 0):
        return email.utils.formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
    zone = (
        timezone.get_current_timezone()
        if settings.EMAIL_USE_LOCALTIME
        else datetime.timezone.utc
    )
    return email.utils.format_datetime(datetime.datetime.now(zone))
