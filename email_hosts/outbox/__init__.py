"""
The outbox: ``OutboxBackend`` stores each message in the caller's
transaction, and a worker on Django's tasks framework delivers it, retrying
what fails for a while and never sending a message twice.
"""

__all__ = ["OutboxBackend"]


def __getattr__(name):
    # Lazily: email_hosts.models imports the outbox's models while Django
    # loads the apps, before a backend can be imported.
    if name == "OutboxBackend":
        from email_hosts.outbox.backend import OutboxBackend  # noqa: PLC0415

        return OutboxBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
