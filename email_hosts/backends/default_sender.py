"""Send the messages that have no sender of their own from the host's sender."""

import copy

from django.conf import settings
from django.views.decorators.debug import sensitive_variables


def with_default_sender(message, sender):
    """
    Return ``message`` from ``sender`` if it has no sender of its own (its
    sender is ``DEFAULT_FROM_EMAIL``), as a copy, so that the caller's message
    is not changed for other hosts.
    """
    if not sender or message.from_email != settings.DEFAULT_FROM_EMAIL:
        return message
    message = copy.copy(message)
    message.from_email = sender
    return message


class DefaultFromMixin:
    """Send messages without a sender of their own from the host's sender."""

    def __init__(self, *args, default_from_email="", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_from_email = default_from_email
        # Django < 6.1 ignores alias; keep it for introspection everywhere.
        self.alias = kwargs.get("alias")

    # Hides every frame below, smtplib's login() included, from error reports.
    @sensitive_variables()
    def send_messages(self, email_messages):
        return super().send_messages(
            [
                with_default_sender(message, self.default_from_email)
                for message in email_messages
            ]
        )
