"""The host form's connection fields, and which of them a DSN error is on."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from email_hosts.admin import oauth2_fields
from email_hosts.conf import MAX_TIMEOUT
from email_hosts.dsn import TLS_FILE_PARAMETERS
from email_hosts.dsn.relays import is_ip_literal


KIND_CHOICES = [
    ("submission", _("SMTP submission")),
    ("smtp", _("SMTP")),
    ("console", _("Console: print mail (development)")),
    ("locmem", _("Memory: keep mail in django.core.mail.outbox (tests)")),
    ("dummy", _("Dummy: discard mail")),
]
SECURITY_CHOICES = [
    ("starttls", _("STARTTLS")),
    ("ssl", _("SSL/TLS from the first byte")),
    # Not "None": Django's own catalogue translates that word as "-".
    ("none", _("No encryption, for a relay on a network you trust")),
]

#: Which field a DSN error belongs on, by error code.
ERROR_FIELDS = {
    "dsn_scheme": "kind",
    "dsn_missing_host": "host",
    "dsn_host": "host",
    "dsn_relay_not_allowed": "host",
    "dsn_local_netloc": "host",
    "dsn_port_range": "port",
    "dsn_port_not_a_number": "port",
    "dsn_keyfile_alone": "ssl_certfile",
    "dsn_timeout": "timeout",
    "dsn_ssl_and_tls": "security",
    "dsn_flag_value": "security",
    "dsn_local_parameters": "security",
}
HOST_FORBIDDEN_CHARACTERS = set(" /@?#%\\")
#: The fields a transport is made of: while one of them has an error (a NUL
#: byte, say, which leaves it out of cleaned_data), there is none to make.
TRANSPORT_FIELDS = (
    "kind",
    "host",
    "port",
    "timeout",
    "security",
    "username",
    "password",
    "clear_password",
    *TLS_FILE_PARAMETERS,
    *oauth2_fields.FIELD_NAMES,
)


class ConnectionFields(oauth2_fields.OAuth2LoginFields):
    """The fields a host's DSN is made of, for the email host form to inherit."""

    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES)
    host = forms.CharField(
        label=_("Host"),
        required=False,
        max_length=253,
        # The admin's wide input: relay names are long.
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    port = forms.IntegerField(
        label=_("Port"),
        required=False,
        min_value=1,
        max_value=65535,
        help_text=_(
            "Leave empty for the usual port: 587 for SMTP submission, 465 with"
            " SSL/TLS, 25 for SMTP."
        ),
    )
    security = forms.ChoiceField(label=_("Security"), choices=SECURITY_CHOICES)
    username = forms.CharField(label=_("User name"), required=False, strip=False)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password"}
        ),
    )
    clear_password = forms.BooleanField(
        label=_("Remove the stored password"), required=False
    )
    timeout = forms.IntegerField(
        label=_("Timeout"),
        required=False,
        min_value=1,
        max_value=MAX_TIMEOUT,
        help_text=_("Seconds to wait for the relay. Leave empty for the default."),
    )
    ssl_cafile = forms.CharField(
        label=_("CA bundle"),
        required=False,
        help_text=_(
            "Trust only the certificate authorities in this file for this relay,"
            " for a relay with a private CA. An absolute path on the server."
        ),
    )
    ssl_certfile = forms.CharField(
        label=_("Client certificate"),
        required=False,
        help_text=_(
            "For a relay that requires a client certificate: an absolute path on"
            " the server to the certificate, or to certificate and key together."
        ),
    )
    ssl_keyfile = forms.CharField(
        label=_("Client key"),
        required=False,
        help_text=_("The client certificate's private key, if in a file of its own."),
    )
    pasted_dsn = forms.CharField(
        label=_("Or paste a DSN"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "For example submission://user:password@smtp.example.com:587?timeout=10."
            " Replaces every field above. Never shown again."
        ),
    )

    def clean_host(self):
        host = self.cleaned_data["host"].strip().strip("[]")
        if "@" in host or (":" in host and not is_ip_literal(host)):
            raise ValidationError(
                _(
                    "Enter the host name alone; the port and user name have fields of their own."
                ),
                code="host_invalid",
            )
        if HOST_FORBIDDEN_CHARACTERS.intersection(host):
            raise ValidationError(
                _(
                    "%(host)r is not a host name: use letters, digits, dots and"
                    " hyphens, such as smtp.example.com."
                ),
                code="host_invalid",
                params={"host": host},
            )
        return host


def initial_from(transport):
    """Return the fields' initial values for a stored ``transport``."""
    return {
        "kind": transport.scheme,
        "host": transport.host or "",
        "port": transport.port,
        "security": transport.security,
        "username": transport.username,
        "timeout": transport.timeout,
        **{name: getattr(transport, name) for name in TLS_FILE_PARAMETERS},
        **oauth2_fields.initial_from(transport.oauth2),
    }


def field_of(error):
    """Return the field a DSN ``ValidationError`` belongs on (None: the form)."""
    field = ERROR_FIELDS.get(error.code) or oauth2_fields.field_of(error)
    if error.code.startswith("dsn_user_"):
        field = "username"
    elif error.code.startswith("dsn_password_"):
        field = "password"
    elif error.code == "dsn_tls_file":
        field = error.params["name"]
    return field
