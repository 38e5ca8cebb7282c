"""The German translation is complete, compiled, current, and used."""

import ast
import gettext
import re
from pathlib import Path

from django.core.exceptions import ValidationError
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import translation

from email_hosts.dsn import parse_dsn
from email_hosts.models import EmailHost


PACKAGE = Path(__file__).parents[2] / "email_hosts"
MESSAGES = PACKAGE / "locale" / "de" / "LC_MESSAGES"
GETTEXT_FUNCTIONS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext"}


def _catalogue():
    """Return {msgid: msgstr} from django.po; plurals map to their forms."""
    text = (MESSAGES / "django.po").read_text()
    entries = {}
    for block in text.split("\n\n")[1:]:
        strings = dict(
            re.findall(
                r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) ((?:".*"\n?)+)',
                block,
                re.MULTILINE,
            )
        )
        joined = {
            key: "".join(re.findall(r'"(.*)"', value)) for key, value in strings.items()
        }
        msgid = joined["msgid"].encode().decode("unicode_escape")
        entries[msgid] = joined.get("msgstr") or tuple(
            joined[key] for key in sorted(joined) if key.startswith("msgstr[")
        )
    return entries


def _strings_in_code():
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None))
                in GETTEXT_FUNCTIONS
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    for path in PACKAGE.rglob("*.html"):
        text = path.read_text()
        found |= set(re.findall(r'{% translate "([^"]+)" %}', text))
        # A blocktranslate's msgid is its singular text, with %(name)s for
        # each {{ name }}, as makemessages writes it.
        for singular in re.findall(
            r"{% blocktranslate [^%]*%}(.*?){% (?:plural|endblocktranslate) %}",
            text,
            re.DOTALL,
        ):
            found.add(re.sub(r"{{ (\w+) }}", r"%(\1)s", singular))
    return found


def test_every_translatable_string_is_in_the_catalogue():
    assert _strings_in_code() - set(_catalogue()) == set()


def test_every_entry_is_translated():
    assert [msgid for msgid, msgstr in _catalogue().items() if not msgstr] == []


def test_the_compiled_catalogue_matches_the_source():
    with (MESSAGES / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    stale = [
        msgid
        for msgid, msgstr in _catalogue().items()
        if isinstance(msgstr, str) and catalogue.gettext(msgid) != msgstr
    ]
    assert stale == []


def test_german_loads():
    with translation.override("de"):
        assert str(EmailHost._meta.verbose_name_plural) == "E-Mail-Hosts"


@override_settings(LANGUAGE_CODE="de")
def test_the_admin_speaks_german(admin_client, email_host):
    email_host("shop", "smtp://smtp.example.com")
    changelist = admin_client.get(reverse("admin:email_hosts_emailhost_changelist"))
    change = admin_client.get(
        reverse("admin:email_hosts_emailhost_change", args=[EmailHost.objects.get().pk])
    )
    assert "Verbindung prüfen" in change.content.decode()
    assert "E-Mail-Hosts" in changelist.content.decode()


def test_transport_summaries_and_credential_errors_are_german_throughout():
    with translation.override("de"):
        summary = parse_dsn("smtp://mx.example.com").summary()
        [message] = _errors_of("smtp://user:p%C3%A4ss@smtp.example.com")
    assert summary == "smtp://mx.example.com:25 (kein TLS)"
    assert message.startswith("Das Passwort muss aus ASCII-Zeichen bestehen")


def _errors_of(dsn):
    try:
        parse_dsn(dsn)
    except ValidationError as exc:
        return exc.messages
    return []


def test_no_entry_is_left_over_from_wording_that_is_gone():
    assert set(_catalogue()) - _strings_in_code() == set()
