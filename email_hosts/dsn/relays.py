"""
Relay host names: whether one can be connected to at all, and whether
``EMAIL_HOSTS_ALLOWED_RELAYS`` lets a stored host send through it.
"""

import ipaddress
import re

from django.utils.http import is_same_domain

from email_hosts import conf
from email_hosts.dsn.errors import invalid


# Letters, digits, hyphens and the underscores some internal names carry;
# at most 63 octets, as DNS and Python's IDNA codec (which sockets use) demand.
LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$", re.IGNORECASE)


def is_ip_literal(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_valid_hostname(host):
    """
    Return whether a socket can be opened to ``host``: an IP address, or a
    name of at most 253 octets whose labels are 1 to 63 octets long.
    """
    name = host.removesuffix(".")
    if 0 < len(name) <= 253 and all(map(LABEL.match, name.split("."))):
        return True
    # Names first: they are the common case, and an IP check that fails
    # raises, which costs more than the whole name check.
    return is_ip_literal(host)


def _pattern_matches(pattern, host):
    if pattern == "*":
        return True
    if is_ip_literal(host):
        # An address matches only itself, never a domain pattern.
        return pattern.strip("[]").lower() == host.lower()
    return is_same_domain(host.lower().rstrip("."), pattern.lower())


def is_allowed(host, port):
    """
    Return whether ``EMAIL_HOSTS_ALLOWED_RELAYS`` lets a stored host send
    through ``host`` on ``port``: an entry's own port, or for an entry
    without one the mail ports. Unset, it allows every relay.
    """
    patterns = conf.allowed_relays()
    return patterns is None or any(
        _pattern_matches(pattern, host)
        and (port == allowed_port if allowed_port else port in conf.MAIL_PORTS)
        for pattern, allowed_port in patterns
    )


def address(host, port):
    """Return ``host:port``, an IPv6 address in brackets, for messages."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def relay_allowed(transport):
    """
    Return whether a stored host may send through ``transport``'s relay and
    port (``EMAIL_HOSTS_ALLOWED_RELAYS``). Development backends have none.
    """
    return not transport.is_smtp or is_allowed(transport.host, transport.port)


def check_relay_allowed(transport):
    """Raise ``ValidationError`` unless :func:`relay_allowed`."""
    if not relay_allowed(transport):
        raise invalid(
            "dsn_relay_not_allowed",
            relay=address(transport.host, transport.port),
            ports=", ".join(map(str, conf.MAIL_PORTS)),
        )
