"""The admin for email hosts and their outbox: importing it registers both."""

from email_hosts.admin.hosts import EmailHostAdmin

# The outbox's admin registers itself beside the hosts'.
from email_hosts.outbox import admin as _outbox_admin  # noqa: F401


__all__ = ["EmailHostAdmin"]
