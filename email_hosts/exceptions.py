"""The ways resolving an email host, or sending through one, can fail."""

import smtplib

from django.core import mail
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
    """A stored host's relay and port are not in ``EMAIL_HOSTS_ALLOWED_RELAYS``."""

    def __init__(self, key, relay):
        #: The relay and its port, such as ``smtp.example.com:587``.
        self.relay = relay
        super().__init__(
            f"The relay {relay!r} is not in EMAIL_HOSTS_ALLOWED_RELAYS, so this"
            f" stored host sends nothing. Point the host at an allowed relay, or"
            f" add {relay!r} to the setting if it is yours.",
            source="EmailHost",
            key=key,
        )


class DeliveryUncertain(smtplib.SMTPException):
    """
    A relay may have accepted messages: the connection broke after the final
    ``.`` of DATA left and before the relay answered. Such messages are
    never sent again automatically; look for their Message-IDs in the
    relay's log.
    """

    def __init__(self, *, key, message_ids):
        self.key = key
        self.message_ids = tuple(message_ids)
        super().__init__(
            f"Email host {key!r}: the connection broke after the relay received"
            f" {len(self.message_ids)} message(s) and before it answered, so it"
            f" may have accepted them: {', '.join(self.message_ids)}. They are"
            f" not sent again; look for them in the relay's log."
        )


class DeliveryFailed(smtplib.SMTPException):
    """Every host a message could leave through failed; says how each did."""

    def __init__(self, *, attempts, unsent, uncertain=()):
        #: (key, reason) for each host tried, in order.
        self.attempts = tuple(attempts)
        self.unsent = unsent
        self.uncertain = tuple(uncertain)
        tried = "; ".join(f"{key!r} ({reason})" for key, reason in self.attempts)
        message = f"Every email host failed, {unsent} message(s) unsent: {tried}."
        if self.uncertain:
            message += (
                f" The relay may have accepted {', '.join(self.uncertain)} before"
                f" the connection broke; they are not sent again."
            )
        super().__init__(message)


class AmbiguousSenderDomain(InvalidEmailHost):
    """Several hosts tie for a sender domain, so no route can be chosen."""

    def __init__(self, domain, keys):
        self.domain = domain
        self.keys = tuple(keys)
        super().__init__(
            f"{len(self.keys)} hosts claim {domain!r} ({', '.join(map(repr, keys))}),"
            f" so RoutingBackend cannot choose one. List {domain!r} in the sender"
            f" domains of the host that should send its mail.",
            source="RoutingBackend",
            key=domain,
        )


def invalid_mailer(alias, message):
    """Return the error for a ``MAILERS`` entry that cannot be served."""
    if error_class := getattr(mail, "InvalidMailer", None):
        return error_class(message, alias=alias)
    # Django < 6.1
    return InvalidEmailHost(message, source="MAILERS", key=alias)


class OAuth2TokenError(smtplib.SMTPException):
    """
    An OAuth2 host got no access token: the token endpoint refused the
    client credentials or the refresh token, could not be reached, or the
    host's account needs connecting again. A login failure, so
    ``fail_silently`` hides it and a backup host takes over.

    The message names the host key, the provider's own error and what to
    do; never the client secret or a token.
    """

    def __init__(self, *, key, reason, error=None):
        self.key = key
        #: Why, without the host key: for the admin's status column.
        self.reason = reason
        #: The token endpoint's error code (RFC 6749), such as invalid_grant.
        self.error = error
        super().__init__(f"Email host {key!r}: {reason}")


class OAuth2Unavailable(ImproperlyConfigured):
    """An OAuth2 host is used, but the OAuth2 client library is missing."""

    def __init__(self, key):
        self.key = key
        super().__init__(
            f"Email host {key!r} logs in with OAuth2, which needs Authlib:"
            f' pip install "django-email-hosts[oauth]".'
        )
