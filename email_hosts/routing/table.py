"""
Which host sends a message: by the domain of its sender, with an ordered
list of backups per host. Builds one table per batch from the database and
``EMAIL_HOSTS``, and checks a stored host's routing before it is saved.
"""

import dataclasses

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

from email_hosts import conf, hosts
from email_hosts.domains import domain_of, parse_domains
from email_hosts.exceptions import AmbiguousSenderDomain
from email_hosts.keys import parse_keys


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


@dataclasses.dataclass(frozen=True)
class Route:
    """Who sends for a sender domain: one key, or the keys that tie for it."""

    domain: str
    keys: tuple
    #: Whether the keys list the domain, or only their default senders use it.
    explicit: bool

    @property
    def ambiguous(self):
        return len(self.keys) > 1


@dataclasses.dataclass
class RoutingTable:
    """
    Every host by key, which key serves each sender domain, and each key's
    backups. Hosts that cannot be used (undecryptable, malformed) are in
    ``broken`` with the reason; their domains and backups still count.

    A host claims a domain explicitly (its sender domains) or by default
    (its default sender's domain). The one explicit claim wins; without one,
    the one default claim. Two explicit claims, or two default claims and
    no explicit one, leave the domain ambiguous: :meth:`key_for` refuses it.
    """

    hosts: dict = dataclasses.field(default_factory=dict)
    broken: dict = dataclasses.field(default_factory=dict)
    backups: dict = dataclasses.field(default_factory=dict)
    #: The keys claiming each domain explicitly, and by default.
    explicit: dict = dataclasses.field(default_factory=dict)
    by_default: dict = dataclasses.field(default_factory=dict)

    def add(  # noqa: PLR0913 -- the host, or why not, and its three routing parts
        self, key, *, host=None, problem="", domains=(), default_domain=None, backups=()
    ):
        """Add or replace the host ``key``."""
        self.hosts.pop(key, None)
        self.broken.pop(key, None)
        if host is not None:
            self.hosts[key] = host
        else:
            self.broken[key] = problem
        self.backups[key] = tuple(backups)
        for claims in (*self.explicit.values(), *self.by_default.values()):
            if key in claims:
                claims.remove(key)
        for domain in domains:
            self.explicit.setdefault(domain, []).append(key)
        if default_domain:
            self.by_default.setdefault(default_domain, []).append(key)

    def claimants(self, domain):
        """Return the keys whose claim on ``domain`` counts: one, or a tie."""
        return self.explicit.get(domain) or self.by_default.get(domain) or []

    def routes(self):
        """
        Return a :class:`Route` for every claimed domain, in order: the key
        that serves it, or the keys that tie for it.
        """
        return [
            Route(
                domain, tuple(sorted(self.claimants(domain))), domain in self.explicit
            )
            for domain in sorted(self.explicit.keys() | self.by_default.keys())
        ]

    @property
    def conflicts(self):
        """Return the ambiguous domains with the keys that tie for each."""
        return {
            route.domain: list(route.keys) for route in self.routes() if route.ambiguous
        }

    def key_for(self, sender):
        """
        Return the key of the host serving ``sender``'s domain, or None.
        Raise ``AmbiguousSenderDomain`` if several hosts tie for it.
        """
        domain = domain_of(sender)
        if not domain:
            return None
        keys = self.claimants(domain)
        if len(keys) > 1:
            raise AmbiguousSenderDomain(domain, sorted(keys))
        return keys[0] if keys else None

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

    def listing_as_backup(self, key):
        """Return the keys of the hosts that list ``key`` as a backup, sorted."""
        return sorted(
            other for other, backups in self.backups.items() if key in backups
        )

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
    """
    Return the routing of a stored host, read without decrypting it. Each
    part counts on its own: a malformed one must not hide the others'
    problems (a backup naming no host) from the form.
    """
    return {
        "domains": _or_nothing(parse_domains, email_host.sender_domains),
        "default_domain": domain_of(email_host.default_from),
        "backups": _or_nothing(parse_keys, email_host.backups),
    }


def _or_nothing(parse, text):
    try:
        return parse(text)
    except ValidationError:
        return ()


def _routing_of(host):
    return {
        "domains": host.sender_domains,
        "default_domain": host.default_domain,
        "backups": host.backups,
    }


def add_stored_host(table, email_host):
    """Add an ``EmailHost`` row to ``table``, broken if it cannot be used."""
    try:
        host = hosts.from_row(email_host)
    except ImproperlyConfigured as exc:
        table.add(email_host.key, problem=str(exc), **_plaintext_routing(email_host))
    else:
        table.add(host.key, host=host, **_routing_of(host))


def build_table(*, exclude=None, without_unreadable_settings=False):
    """
    Return the routing table of every ``EMAIL_HOSTS`` entry and every stored
    host (one query); a stored host replaces a setting with its key.

    A malformed ``EMAIL_HOSTS`` raises ``ImproperlyConfigured``, unless
    ``without_unreadable_settings``: the admin then checks the stored hosts
    among themselves, so that a broken setting keeps nobody from fixing a
    stored host, and the changelist reports the setting.
    """
    from email_hosts.models import EmailHost  # noqa: PLC0415 -- apps not ready at import

    table = RoutingTable()
    try:
        settings_hosts = conf.email_hosts()
    except ImproperlyConfigured:
        if not without_unreadable_settings:
            raise
        settings_hosts = {}
    for key in sorted(settings_hosts):
        try:
            host = hosts.from_settings(key)
        except ImproperlyConfigured as exc:
            table.add(key, problem=str(exc))
        else:
            table.add(key, host=host, **_routing_of(host))
    for email_host in EmailHost.objects.exclude(pk=exclude).order_by("key"):
        add_stored_host(table, email_host)
    return table


def _domains_taken(table, taken):
    """Say which domains another host lists already, and how to settle it."""
    others = sorted(set(taken.values()))
    values = {"domains": ", ".join(sorted(taken)), "keys": ", ".join(others)}
    if all(
        key in table.hosts and table.hosts[key].source == hosts.SETTINGS
        for key in others
    ):
        return (
            _(
                "%(domains)s already listed by %(keys)s, which comes from the"
                " EMAIL_HOSTS setting and cannot be changed here: one host per"
                " domain. Remove the domain here, or from that host's DSN in the"
                " settings."
            )
            % values
        )
    return (
        _(
            "%(domains)s already listed by %(keys)s: one host per domain."
            " Remove it here or there; the other host can be a backup."
        )
        % values
    )


def validate_stored_host(email_host, *, previous_key=None):
    """
    Raise ``ValidationError`` by field if saving ``email_host`` would list a
    sender domain that another host lists too, name a backup that does not
    exist, close a cycle of backups, or rename (from ``previous_key``) a host
    that others list as a backup. Sharing a default sender's domain is fine:
    hosts picked by key need no routing.
    """
    table = build_table(exclude=email_host.pk, without_unreadable_settings=True)
    add_stored_host(table, email_host)
    errors = {}
    renamed = previous_key and previous_key != email_host.key
    if renamed and (listed_by := table.listing_as_backup(previous_key)):
        errors["key"] = _(
            "%(keys)s name %(key)r as their backup: keep the key, or take it"
            " out of their backups first."
        ) % {"keys": ", ".join(listed_by), "key": previous_key}
    if taken := {
        domain: other
        for domain, keys in table.explicit.items()
        if email_host.key in keys
        for other in keys
        if other != email_host.key
    }:
        errors["sender_domains"] = _domains_taken(table, taken)
    if unknown := [b for key, b in table.unknown_backups() if key == email_host.key]:
        errors["backups"] = _(
            "No email host %(keys)s: add it first, or correct the key."
        ) % {"keys": ", ".join(unknown)}
    elif (cycle := find_cycle(table.backups, start=email_host.key)) and (
        cycle[0] == email_host.key
    ):
        errors["backups"] = _("The backups go round in a circle: %(cycle)s.") % {
            "cycle": " → ".join(cycle)
        }
    if errors:
        raise ValidationError(errors)
