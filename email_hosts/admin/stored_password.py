"""The host form's write-only password: kept when left empty, for one destination."""

from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from email_hosts.dsn import TLS_FILE_PARAMETERS


#: Why a stored password is not kept for the transport the form describes.
NEW_DESTINATION = _(
    "Enter the password again: the server, port, user name,"
    " security or OAuth2 login changed, and the stored password"
    " or client secret must not follow them unasked."
)


@sensitive_variables()
def show_stored(form, stored):
    """Say whether ``stored`` has a password; offer to remove only one there is."""
    if stored is not None and stored.password:
        form.fields["password"].help_text = _(
            "A password is stored. Leave empty to keep it."
        )
    else:
        del form.fields["clear_password"]


@sensitive_variables()
def keeps_stored(cleaned, stored):
    """Return whether the form keeps the password of ``stored`` unchanged."""
    return bool(
        not cleaned["password"]
        and stored is not None
        and stored.password
        and not cleaned.get("clear_password")
    )


@sensitive_variables()
def same_destination(transport, stored):
    """Return whether ``transport`` sends a stored password where ``stored`` did."""
    return _destination(transport) == _destination(stored)


@sensitive_variables()
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
