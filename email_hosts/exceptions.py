"""The ways resolving an email host can fail."""

from django.core.exceptions import ImproperlyConfigured


class InvalidEmailHost(ImproperlyConfigured):
    """
    An email host is configured wrongly.

    A configuration error, never a send error, so that ``fail_silently``
    cannot hide it. The message starts with where the host lives, for example
    ``EMAIL_HOSTS['shop']: port 'abc' is not a number.``, and never contains
    a password.
    """

    def __init__(self, message, *, source, key):
        self.source = source
        self.key = key
        super().__init__(f"{source}[{key!r}]: {message}")

    def __str__(self):
        # KeyError subclasses would otherwise show the message quoted.
        return self.args[0]


class EmailHostDoesNotExist(InvalidEmailHost, KeyError):
    """No host with this key exists in the database or in the settings."""

    def __init__(self, key):
        super().__init__(
            "No such email host. Add it in the admin or to the EMAIL_HOSTS setting.",
            source="email_hosts",
            key=key,
        )


class EmailHostUndecryptable(InvalidEmailHost):
    """A stored host's DSN cannot be decrypted with the configured keys."""

    def __init__(self, key):
        super().__init__(
            "The stored DSN cannot be decrypted with the current keys. Add the"
            " key it was encrypted with to FERNET_KEYS (or SECRET_KEY_FALLBACKS"
            " when FERNET_KEYS is unset), or enter the DSN again.",
            source="EmailHost",
            key=key,
        )


class RelayNotAllowed(InvalidEmailHost):
    """A stored host's relay is not in ``EMAIL_HOSTS_ALLOWED_RELAYS``."""

    def __init__(self, key, relay):
        self.relay = relay
        super().__init__(
            f"The relay {relay!r} is not in EMAIL_HOSTS_ALLOWED_RELAYS, so this"
            f" stored host sends nothing. Point the host at an allowed relay, or"
            f" add {relay!r} to the setting if it is yours.",
            source="EmailHost",
            key=key,
        )
