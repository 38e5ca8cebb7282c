"""What a refused pasted DSN still tells, shown in the host form's fields."""

from urllib.parse import parse_qsl, unquote, urlsplit

from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from email_hosts.admin.connection_fields import KIND_CHOICES
from email_hosts.dsn import SMTP_SCHEMES, credentials_broke_the_url


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


@sensitive_variables()
def keep_what_was_pasted(form, pasted):
    """
    Show what a refused DSN still tells in the plain fields of ``form``, so
    that a typo costs a correction, not a second paste. Never its password:
    the form is sent back to the browser.
    """
    if not (readable := readable_fields(pasted)):
        return
    form.data = form.data.copy()
    for name, value in readable.items():
        form.data[form.add_prefix(name)] = value
    form.add_error(
        "pasted_dsn",
        _(
            "The fields above now hold what could be read from it, except"
            " the password: correct the mistake there and enter the"
            " password, or paste the DSN again."
        ),
    )
