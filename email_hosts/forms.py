"""
The admin's form for an email host: plain fields instead of a DSN, and a
password that is write-only.

The form reads the stored DSN into its fields and writes a new DSN from
them with :func:`~email_hosts.dsn.format_dsn`; :func:`~email_hosts.dsn.parse_dsn`
validates it, so the rules are the model's.
"""

from urllib.parse import parse_qsl, unquote, urlsplit

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from email_hosts import hosts, oauth2_fields, repointing
from email_hosts.conf import MAX_TIMEOUT
from email_hosts.dsn import (
    SMTP_SCHEMES,
    TLS_FILE_PARAMETERS,
    Transport,
    check_relay_allowed,
    credentials_broke_the_url,
    format_dsn,
    parse_dsn,
    validate_dsn,
)
from email_hosts.encryption import UndecryptableValue
from email_hosts.models import EmailHost
from email_hosts.relays import is_ip_literal
from email_hosts.routing.table import validate_stored_host


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


@sensitive_variables()
def readable_fields(dsn):
    """
    Return the form fields a malformed ``dsn`` still tells, as strings, or
    an empty dict; never the password, nor anything that may be part of it.
    """
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError:
        return {}
    kinds = {kind for kind, _label in KIND_CHOICES}
    if parts.scheme not in kinds or not dsn.startswith(f"{parts.scheme}://"):
        return {}
    if parts.scheme not in SMTP_SCHEMES:
        return {"kind": parts.scheme}
    # "user:password" without "@host" looks like "host:port", and a password
    # cut short by "/", "?" or "#" leaves pieces of itself behind the host.
    password_as_port = "@" not in parts.netloc and ":" in parts.netloc
    if password_as_port or credentials_broke_the_url(parts):
        return {}
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    security = (
        "ssl"
        if "ssl" in query
        else "starttls"
        if "tls" in query or parts.scheme == "submission"
        else "none"
    )
    timeout = query.get("timeout", "")
    return {
        "kind": parts.scheme,
        "host": parts.hostname or "",
        "port": str(port or ""),
        "username": unquote(parts.username or ""),
        "security": security,
        "timeout": timeout if timeout.isascii() and timeout.isdigit() else "",
    }


def _destination(transport):
    """
    Return where a stored password goes and how it is protected on the way;
    changing any of it needs the password again, so that nobody can send a
    stored password to a server of their own, or in clear.
    """
    return (
        transport.scheme,
        transport.host,
        transport.port,
        transport.username,
        transport.security,
        *(getattr(transport, name) for name in TLS_FILE_PARAMETERS),
        # A client secret goes to the token endpoint too.
        transport.oauth2,
    )


class EmailHostForm(oauth2_fields.OAuth2LoginFields, forms.ModelForm):
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

    class Meta:
        model = EmailHost
        fields = ["key", "default_from", "sender_domains", "backups"]

    #: Whether the user may change where mail goes (the admin sets it from
    #: the user's permissions); without it, only such edits are refused.
    may_repoint = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.before = self._stored_host()
        self.stored = self._stored_transport()
        if self.stored is not None:
            self.initial.update(self._initial_from(self.stored))
            if not self.initial.get("default_from"):
                # Shown, so that saving the fields does not drop it unseen.
                self.initial["default_from"] = self.stored.default_from_email
        if self.stored is not None and self.stored.password:
            self.fields["password"].help_text = _(
                "A password is stored. Leave empty to keep it."
            )
        else:
            del self.fields["clear_password"]

    def _stored_host(self):
        """Return the host as stored, or None for a new or unusable one."""
        if not self.instance.pk:
            return None
        try:
            return hosts.from_row(self.instance)
        except ImproperlyConfigured:
            return None

    def _stored_transport(self):
        """Return the stored transport, or None for a new or unreadable host."""
        dsn = self.instance.dsn if self.instance.pk else None
        if dsn is None or isinstance(dsn, UndecryptableValue):
            return None
        try:
            return parse_dsn(dsn)
        except ValidationError:
            return None

    @staticmethod
    def _initial_from(transport):
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

    @sensitive_variables()
    def clean(self):
        cleaned = super().clean()
        if pasted := cleaned.get("pasted_dsn"):
            try:
                validate_dsn(pasted)
            except ValidationError as exc:
                self.add_error("pasted_dsn", exc)
                self._keep_what_was_pasted(pasted)
            else:
                self.instance.dsn = pasted
        elif transport := self._transport_from_fields(cleaned):
            self.instance.dsn = format_dsn(transport)
        return cleaned

    @sensitive_variables()
    def _keep_what_was_pasted(self, pasted):
        """
        Show what a refused DSN still tells in the plain fields, so that a
        typo costs a correction, not a second paste. Never its password:
        the form is sent back to the browser.
        """
        if not (readable := readable_fields(pasted)):
            return
        self.data = self.data.copy()
        for name, value in readable.items():
            self.data[self.add_prefix(name)] = value
        self.add_error(
            "pasted_dsn",
            _(
                "The fields above now hold what could be read from it, except"
                " the password: correct the mistake there and enter the"
                " password, or paste the DSN again."
            ),
        )

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
        if any(name in self.errors for name in TRANSPORT_FIELDS):
            return None
        if kind not in SMTP_SCHEMES:
            return Transport(scheme=kind)
        keeps_stored_password = bool(
            not cleaned["password"]
            and self.stored is not None
            and self.stored.password
            and not cleaned.get("clear_password")
        )
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
            self._add_dsn_error(exc)
            return None
        if keeps_stored_password and _destination(transport) != _destination(
            self.stored
        ):
            self.add_error(
                "password",
                _(
                    "Enter the password again: the server, port, user name,"
                    " security or OAuth2 login changed, and the stored password"
                    " or client secret must not follow them unasked."
                ),
            )
            return None
        return transport

    def _post_clean(self):
        super()._post_clean()
        # Routing is checked here, not by the model: a host picked by key
        # needs no routing, and the model sits below the routing rules.
        try:
            validate_stored_host(self.instance, previous_key=self.initial.get("key"))
        except ValidationError as exc:
            self._update_errors(exc)
        if not self.may_repoint and not self.errors:
            self._refuse_repointing()

    def _refuse_repointing(self):
        """Refuse each edit that changes where mail goes, on its field."""
        try:
            after = hosts.from_row(self.instance)
        except ImproperlyConfigured:
            return  # The model's validation said why already.
        pasted = bool(self.cleaned_data.get("pasted_dsn"))
        for found in repointing.repointings(self.before, after):
            field = found.field
            if pasted and field not in ("key", "sender_domains", "backups"):
                field = "pasted_dsn"
            elif field not in self.fields:
                field = None
            self.add_error(
                field,
                _(
                    "Only users with the permission 'Can point an email host at"
                    " another relay' may make this change (%(what)s): superusers"
                    " have it. Ask one to make it, or to grant you the permission."
                )
                % {"what": found.reason},
            )

    def _add_dsn_error(self, exc):
        field = ERROR_FIELDS.get(exc.code) or oauth2_fields.field_of(exc)
        if exc.code.startswith("dsn_user_"):
            field = "username"
        elif exc.code.startswith("dsn_password_"):
            field = "password"
        elif exc.code == "dsn_tls_file":
            field = exc.params["name"]
        self.add_error(field, exc)
