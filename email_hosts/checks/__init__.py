"""Register the system checks; every ID is documented in docs/checks.rst."""

# Importing a module registers its checks, with @checks.register.
from email_hosts.checks import (  # noqa: F401
    encryption,
    logins,
    oauth2,
    outbox,
    relays,
    reporting,
    routing,
    settings,
    stored,
)
