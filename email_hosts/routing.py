"""
Which host sends a message: by the domain of its sender, with an ordered
list of backups per host. Builds one table per batch from the database and
``EMAIL_HOSTS``.
"""

import dataclasses
import re

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

from email_hosts.domains import domain_of, parse_domains


KEY = re.compile(r"^[-a-zA-Z0-9_]+$")


def parse_keys(text):
    """Return the host keys in a comma- or space-separated list, in order."""
    keys = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        if not KEY.match(item):
            raise ValidationError(
                _("%(key)r is not a host key: use letters, digits, - and _."),
                code="key_invalid",
                params={"key": item},
            )
        if item not in keys:
            keys.append(item)
    return tuple(keys)


def validate_keys(text):
    """Validator for fields that hold a list of host keys."""
    parse_keys(text)


def find_cycle(backups, *, start=None):
    """
    Return a list of keys that form a cycle in ``backups`` (key -> keys), such
    as ``["shop", "club", "shop"]``, or None. With ``start``, look only for
    a cycle through that key, and begin it there.
    """
    done, path = set(), []

    def visit(key):
        if key in path:
            return [*path[path.index(key) :], key]
        if key in done:
            return None
        path.append(key)
        for backup in backups.get(key, ()):
            if cycle := visit(backup):
                return cycle
        path.pop()
        done.add(key)
        return None

    for key in [start] if start else sorted(backups):
        if cycle := visit(key):
            return cycle[cycle.index(start) :] if start and start in cycle else cycle
    return None


@dataclasses.dataclass
class RoutingTable:
    """
    Every host by key, which key serves each sender domain, and each key's
    backups. Hosts that cannot be used (undecryptable, malformed) are in
    ``broken`` with the reason; their domains and backups still count.
    """

    hosts: dict = dataclasses.field(default_factory=dict)
    broken: dict = dataclasses.field(default_factory=dict)
    backups: dict = dataclasses.field(default_factory=dict)
    #: The keys claiming each domain, in the order they were added.
    claims: dict = dataclasses.field(default_factory=dict)

    def add(self, key, *, host=None, problem="", domains=(), backups=()):
        """Add or replace the host ``key``."""
        self.hosts.pop(key, None)
        self.broken.pop(key, None)
        if host is not None:
            self.hosts[key] = host
        else:
            self.broken[key] = problem
        self.backups[key] = tuple(backups)
        for claimants in self.claims.values():
            if key in claimants:
                claimants.remove(key)
        for domain in domains:
            self.claims.setdefault(domain, []).append(key)

    @property
    def conflicts(self):
        """Return the domains more than one host claims, with their keys."""
        return {domain: keys for domain, keys in self.claims.items() if len(keys) > 1}

    def key_for(self, sender):
        """
        Return the key of the host serving ``sender``'s domain, or None. Of
        hosts in conflict (a system check error), the first added wins.
        """
        domain = domain_of(sender)
        return next(iter(self.claims.get(domain, ())), None) if domain else None

    def chain(self, key):
        """Return ``key`` followed by its backups, theirs after them, each once."""
        chain, queue = [], [key]
        while queue:
            current = queue.pop(0)
            if current not in chain and (
                current in self.hosts or current in self.broken
            ):
                chain.append(current)
                queue.extend(self.backups.get(current, ()))
        return chain

    def unknown_backups(self):
        """Return (key, backup) pairs whose backup names no host."""
        known = self.hosts.keys() | self.broken.keys()
        return [
            (key, backup)
            for key, backups in sorted(self.backups.items())
            for backup in backups
            if backup not in known
        ]


def _plaintext_routing(email_host):
    """Return the domains and backups of a stored host without decrypting it."""
    try:
        declared = parse_domains(email_host.sender_domains)
        backups = parse_keys(email_host.backups)
    except ValidationError:
        return (), ()
    own = domain_of(email_host.default_from) if email_host.default_from else None
    return tuple(dict.fromkeys(([own] if own else []) + list(declared))), backups


def add_stored_host(table, email_host):
    """Add an ``EmailHost`` row to ``table``, broken if it cannot be used."""
    from email_hosts import hosts  # noqa: PLC0415 -- hosts imports this module

    try:
        host = hosts.from_row(email_host)
    except ImproperlyConfigured as exc:
        domains, backups = _plaintext_routing(email_host)
        table.add(email_host.key, problem=str(exc), domains=domains, backups=backups)
    else:
        table.add(
            host.key, host=host, domains=host.sender_domains, backups=host.backups
        )


def build_table(*, exclude=None):
    """
    Return the routing table of every ``EMAIL_HOSTS`` entry and every stored
    host (one query); a stored host replaces a setting with its key.
    """
    from email_hosts import conf, hosts  # noqa: PLC0415 -- hosts imports this module
    from email_hosts.models import EmailHost  # noqa: PLC0415

    table = RoutingTable()
    for key in sorted(conf.email_hosts()):
        try:
            host = hosts.from_settings(key)
        except ImproperlyConfigured as exc:
            table.add(key, problem=str(exc))
        else:
            table.add(key, host=host, domains=host.sender_domains, backups=host.backups)
    for email_host in EmailHost.objects.exclude(pk=exclude).order_by("key"):
        add_stored_host(table, email_host)
    return table


def validate_stored_host(email_host):
    """
    Raise ``ValidationError`` by field if saving ``email_host`` would give a
    sender domain two hosts, name a backup that does not exist, or close a
    cycle of backups.
    """
    table = build_table(exclude=email_host.pk)
    add_stored_host(table, email_host)
    errors = {}
    if taken := {
        domain: keys[0]
        for domain, keys in table.conflicts.items()
        if email_host.key in keys and keys[0] != email_host.key
    }:
        errors["sender_domains"] = _("%(domains)s already served by %(keys)s.") % {
            "domains": ", ".join(sorted(taken)),
            "keys": ", ".join(sorted(set(taken.values()))),
        }
    if unknown := [b for key, b in table.unknown_backups() if key == email_host.key]:
        errors["backups"] = _("No email host %(keys)s.") % {"keys": ", ".join(unknown)}
    elif (cycle := find_cycle(table.backups, start=email_host.key)) and (
        cycle[0] == email_host.key
    ):
        errors["backups"] = _("The backups go round in a circle: %(cycle)s.") % {
            "cycle": " → ".join(cycle)
        }
    if errors:
        raise ValidationError(errors)
