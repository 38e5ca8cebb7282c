"""Sender domains: parse, normalise (case, internationalised names), compare."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from email_hosts.senders import match_plain_sender, parse_mailboxes


LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(domain):
    """
    Return ``domain`` as lower-case ASCII (IDNA), so that ``Example.COM`` and
    ``bücher.example`` match ``example.com`` and ``xn--bcher-kva.example``.
    Raise ``ValueError`` if it is no domain name.
    """
    domain = domain.strip().rstrip(".")
    if domain.isascii():
        # The IDNA codec returns ASCII labels unchanged; the checks below
        # refuse what it would, at a fraction of its cost.
        ascii_domain = domain.lower()
    else:
        try:
            ascii_domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise ValueError(domain) from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or len(labels) < 2 or not all(map(LABEL.match, labels)):
        raise ValueError(domain)
    return ascii_domain


def parse_domains(text):
    """
    Return the normalised domains in a comma- or space-separated list. An
    error quotes the whole entry between commas, as it was typed.
    """
    domains = []
    for entry in text.split(","):
        for item in entry.split():
            try:
                domain = normalize_domain(item)
            except ValueError:
                raise ValidationError(
                    _("%(domain)r is not a domain name such as example.com."),
                    code="domain_invalid",
                    params={"domain": entry.strip()},
                ) from None
            if domain not in domains:
                domains.append(domain)
    return tuple(domains)


def validate_domains(text):
    """Validator for fields that hold a list of sender domains."""
    parse_domains(text)


def domain_of(address):
    """Return the normalised domain of an address, or None if it has none."""
    if plain := match_plain_sender(address):
        try:
            return normalize_domain(plain["domain"])
        except ValueError:
            return None
    parsed = parse_mailboxes(address)
    if not parsed or len(parsed.mailboxes) != 1 or not parsed.mailboxes[0].domain:
        return None
    try:
        return normalize_domain(parsed.mailboxes[0].domain)
    except ValueError:
        return None
