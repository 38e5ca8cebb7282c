"""
The admin's form for an email host: plain fields instead of a DSN, and a
password that is write-only.

The form reads the stored DSN into its fields and writes a new DSN from
them with :func:`~email_hosts.dsn.format_dsn`; :func:`~email_hosts.dsn.parse_dsn`
validates it, so the rules are the model's.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from email_hosts.admin import connection_fields, oauth2_fields, stored_password
from email_hosts.admin.pasted_dsn import keep_what_was_pasted
from email_hosts.admin.routing_checks import RoutingChecks
from email_hosts.dsn import (
    SMTP_SCHEMES,
    TLS_FILE_PARAMETERS,
    Transport,
    check_relay_allowed,
    format_dsn,
    parse_dsn,
    validate_dsn,
)
from email_hosts.encryption import UndecryptableValue
from email_hosts.models import EmailHost


class EmailHostForm(RoutingChecks, connection_fields.ConnectionFields, forms.ModelForm):
    class Meta:
        model = EmailHost
        fields = ["key", "default_from", "sender_domains", "backups"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored = self._stored_transport()
        if self.stored is not None:
            self.initial.update(connection_fields.initial_from(self.stored))
            if not self.initial.get("default_from"):
                # Shown, so that saving the fields does not drop it unseen.
                self.initial["default_from"] = self.stored.default_from_email
        stored_password.show_stored(self, self.stored)

    def _stored_transport(self):
        """Return the stored transport, or None for a new or unreadable host."""
        dsn = self.instance.dsn if self.instance.pk else None
        if dsn is None or isinstance(dsn, UndecryptableValue):
            return None
        try:
            return parse_dsn(dsn)
        except ValidationError:
            return None

    @sensitive_variables()
    def clean(self):
        cleaned = super().clean()
        if pasted := cleaned.get("pasted_dsn"):
            try:
                validate_dsn(pasted)
            except ValidationError as exc:
                self.add_error("pasted_dsn", exc)
                keep_what_was_pasted(self, pasted)
            else:
                self.instance.dsn = pasted
        elif transport := self._transport_from_fields(cleaned):
            self.instance.dsn = format_dsn(transport)
        return cleaned

    @sensitive_variables()
    def _transport_from_fields(self, cleaned):
        """Return the transport the fields describe, or None after adding errors."""
        kind, security = cleaned.get("kind"), cleaned.get("security")
        if kind == "submission" and security == "none":
            # Reported with the other fields' errors, not after they are fixed.
            self.add_error(
                "security",
                _(
                    "SMTP submission always uses TLS. Choose SMTP as the kind"
                    " for no encryption."
                ),
            )
        if kind in SMTP_SCHEMES:
            for name in oauth2_fields.missing(cleaned):
                self.add_error(name, _("This login needs it."))
        if any(name in self.errors for name in connection_fields.TRANSPORT_FIELDS):
            return None
        if kind not in SMTP_SCHEMES:
            return Transport(scheme=kind)
        keeps_stored_password = stored_password.keeps_stored(cleaned, self.stored)
        password = (
            self.stored.password if keeps_stored_password else cleaned["password"]
        )
        try:
            # Formatting and parsing back validates, and fills in the port.
            transport = parse_dsn(
                format_dsn(
                    Transport(
                        scheme=kind,
                        host=cleaned["host"],
                        port=cleaned["port"],
                        username=cleaned["username"],
                        password=password,
                        use_tls=security == "starttls",
                        use_ssl=security == "ssl",
                        timeout=cleaned["timeout"],
                        **{name: cleaned[name] for name in TLS_FILE_PARAMETERS},
                        oauth2=oauth2_fields.login_from(cleaned, password=password),
                    )
                )
            )
            check_relay_allowed(transport)
        except ValidationError as exc:
            self.add_error(connection_fields.field_of(exc), exc)
            return None
        if keeps_stored_password and not stored_password.same_destination(
            transport, self.stored
        ):
            self.add_error("password", stored_password.NEW_DESTINATION)
            return None
        return transport
