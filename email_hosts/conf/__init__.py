"""
The settings django-email-hosts reads, each read when called, with its
default written once.

Callers write ``from email_hosts import conf`` and call ``conf.<setting>()``.
This module only gathers those accessors and the constants callers use from
the modules that define them: ``hosts`` (hosts, fallback, timeouts, allowed
relays), ``connections`` (reuse, pipelining, pauses), ``outbox_settings`` (the
outbox), ``tokens`` (the OAuth2 token cache). ``cache`` makes every accessor
read again when ``override_settings`` changes a setting.
"""

from email_hosts.conf.cache import read_once
from email_hosts.conf.connections import (
    DEFAULT_THROTTLE_PAUSE,
    connection_reuse,
    failed_host_pause,
    pipelining,
)
from email_hosts.conf.hosts import (
    MAIL_PORTS,
    MAX_TIMEOUT,
    allowed_relays,
    app_installed,
    default_timeout,
    email_hosts,
    mailers,
    routing_fallback,
)
from email_hosts.conf.outbox_settings import (
    DEFAULT_RETRY_DELAYS,
    RATE_WINDOWS,
    Outbox,
    connections_per_host,
    outbox,
    rate_limits,
    retry_delays,
)
from email_hosts.conf.tokens import token_cache


__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "DEFAULT_THROTTLE_PAUSE",
    "MAIL_PORTS",
    "MAX_TIMEOUT",
    "RATE_WINDOWS",
    "Outbox",
    "allowed_relays",
    "app_installed",
    "connection_reuse",
    "connections_per_host",
    "default_timeout",
    "email_hosts",
    "failed_host_pause",
    "mailers",
    "outbox",
    "pipelining",
    "rate_limits",
    "read_once",
    "retry_delays",
    "routing_fallback",
    "token_cache",
]
