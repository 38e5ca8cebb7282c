"""
The admin form's fields for an OAuth2 login: which login, and the app's
tenant, client ID, endpoints, scope and SASL mechanism. The client secret
is the form's write-only password.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from email_hosts.dsn import oauth2 as config


LOGIN_CHOICES = [
    ("password", _("User name and password")),
    ("microsoft", _("Microsoft 365 app (OAuth2 client credentials)")),
    ("client_credentials", _("Another OAuth2 server (client credentials)")),
    ("microsoft_delegated", _("Microsoft 365 account, connected with consent")),
    ("google", _("Google Workspace account, connected with consent")),
    ("authorization_code", _("Another OAuth2 server, connected with consent")),
]
SASL_CHOICES = [
    ("xoauth2", _("XOAUTH2 (Microsoft, Google)")),
    ("oauthbearer", _("OAUTHBEARER (RFC 7628)")),
]
#: The fields a login's DSN parameters come from.
_ENTERED = ("tenant", "authorize_url", "token_url", "client_id", "scope")
FIELD_NAMES = ("login", *_ENTERED, "sasl")
ERROR_FIELDS = {
    "dsn_oauth2_tenant": "tenant",
    "dsn_oauth2_client_id": "client_id",
    "dsn_oauth2_token_url": "token_url",
    "dsn_oauth2_authorize_url": "authorize_url",
    "dsn_oauth2_scope": "scope",
    "dsn_oauth2_credentials": "password",
    "dsn_oauth2_plaintext": "security",
}


class OAuth2LoginFields(forms.Form):
    """The fields of an OAuth2 login, for the email host form to inherit."""

    login = forms.ChoiceField(
        label=_("Login"),
        choices=LOGIN_CHOICES,
        initial="password",
        # Not sent by forms written before OAuth2: a password login.
        required=False,
        help_text=_(
            "With OAuth2, the user name is the mailbox to send as, and the"
            " password is the app's client secret."
        ),
    )
    tenant = forms.CharField(
        label=_("Microsoft 365 tenant"),
        required=False,
        help_text=_(
            "The directory (tenant) ID, or a domain of the tenant such as"
            " contoso.onmicrosoft.com."
        ),
    )
    client_id = forms.CharField(
        label=_("Client ID"),
        required=False,
        help_text=_("The app's application (client) ID."),
    )
    authorize_url = forms.CharField(
        label=_("Authorization URL"),
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text=_(
            "For another OAuth2 server, connected with consent: its"
            " authorization endpoint, an https:// URL."
        ),
    )
    token_url = forms.CharField(
        label=_("Token URL"),
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text=_("For another OAuth2 server: its token endpoint, an https:// URL."),
    )
    scope = forms.CharField(
        label=_("Scope"),
        required=False,
        help_text=_(
            "For another OAuth2 server: the scopes to ask for, separated by spaces."
        ),
    )
    sasl = forms.ChoiceField(
        label=_("SASL mechanism"),
        choices=SASL_CHOICES,
        initial="xoauth2",
        required=False,
    )


def initial_from(oauth2):
    """Return the fields' initial values for a stored login (None: a password)."""
    if oauth2 is None:
        return {"login": "password"}
    # Only what the DSN carries: not the URLs a provider's flow fills in.
    return {
        "login": oauth2.flow,
        **{name: value for name, value in oauth2.query() if name in _ENTERED},
        "sasl": oauth2.mechanism,
    }


def missing(cleaned):
    """Return the fields the chosen login needs that are empty."""
    spec = config.FLOWS.get(cleaned.get("login"))
    required = ("username", *spec.required) if spec else ()
    return [name for name in required if not cleaned.get(name)]


@sensitive_variables()
def login_from(cleaned, *, password):
    """
    Return the :class:`~email_hosts.dsn.oauth2.OAuth2` login the fields
    describe, or None for a password; raise ``ValidationError`` if invalid.
    """
    login = cleaned.get("login")
    if login not in config.FLOWS:
        return None
    refused = config.FLOWS[login].refused
    query = {"oauth2": login, "sasl": cleaned["sasl"]}
    query |= {
        name: cleaned[name]
        for name in _ENTERED
        if cleaned.get(name) and name not in refused
    }
    return config.parse(query, username=cleaned["username"], password=password)


def field_of(error):
    """Return the OAuth2 field a DSN ``ValidationError`` belongs on, or None."""
    return ERROR_FIELDS.get(error.code) if isinstance(error, ValidationError) else None
