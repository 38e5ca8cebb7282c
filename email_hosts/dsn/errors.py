"""
Every error the DSN rules raise, by code, in words that name the problem and
never the password; rendered in English while settings.py still loads.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy


def gettext_noop(message):
    """
    Mark ``message`` for translation. Django's own gettext_noop reads
    settings.USE_I18N, which 0.3 users' settings.py cannot offer yet when it
    calls email_hosts.mailers().
    """
    return message


#: Every DSN error, by code. Plain strings, so that they can be rendered
#: untranslated while settings.py is still loading; see render_error().
MESSAGES = {
    "dsn_empty": gettext_noop("Enter a DSN such as smtp://smtp.example.com."),
    "dsn_not_a_url": gettext_noop("The DSN is not a valid URL."),
    "dsn_non_ascii": gettext_noop("The DSN must be ASCII. URL-quote other characters."),
    "dsn_whitespace": gettext_noop(
        "The DSN must not contain spaces, line breaks or control characters."
    ),
    "dsn_scheme": gettext_noop("Unknown scheme %(scheme)r. Use one of %(known)s."),
    "dsn_no_scheme": gettext_noop(
        "The DSN must start with a scheme and '://', as in smtp://smtp.example.com."
    ),
    "dsn_unquoted_credentials": gettext_noop(
        "The user name or password contains '/', '?' or '#'. URL-quote them"
        " as %%2F, %%3F and %%23."
    ),
    "dsn_trailing_text": gettext_noop(
        "The DSN must end after the host and the query string."
    ),
    "dsn_unknown_parameter": gettext_noop(
        "Unknown query parameter %(name)r. Known parameters are %(known)s."
    ),
    "dsn_repeated_parameter": gettext_noop(
        "The query parameter %(name)r is given more than once."
    ),
    "dsn_flag_value": gettext_noop(
        "%(name)s takes no value. Remove it to turn it off."
    ),
    "dsn_port_range": gettext_noop("The port is out of range: use 1 to 65535."),
    "dsn_port_not_a_number": gettext_noop("Port %(port)r is not a number."),
    "dsn_port_or_password": gettext_noop(
        "The text after ':' is not a port number. If it is a password, put"
        " the host after it, as in user:password@smtp.example.com."
    ),
    "dsn_host": gettext_noop(
        "%(host)r is not a host name: each part between dots needs 1 to 63"
        " letters, digits or hyphens."
    ),
    "dsn_timeout": gettext_noop(
        "Timeout %(timeout)r is not a whole number of seconds from 1 to %(max)s."
    ),
    "dsn_tls_file": gettext_noop(
        "%(name)s must be the absolute path of a file, such as /etc/ssl/relay.pem."
    ),
    "dsn_keyfile_alone": gettext_noop(
        "ssl_keyfile needs ssl_certfile: the key belongs to a client certificate."
    ),
    "dsn_relay_not_allowed": gettext_noop(
        "The relay %(relay)r is not in EMAIL_HOSTS_ALLOWED_RELAYS (an entry"
        " without a port allows the ports %(ports)s alone). Use an allowed relay,"
        " or ask whoever deploys the site to add it."
    ),
    # One sentence per field, so that each translates whole.
    "dsn_user_non_ascii": gettext_noop(
        "The user name must be ASCII: SMTP servers cannot authenticate other"
        " characters."
    ),
    "dsn_password_non_ascii": gettext_noop(
        "The password must be ASCII: SMTP servers cannot authenticate other characters."
    ),
    "dsn_user_control": gettext_noop(
        "The user name must not contain line breaks or control characters."
    ),
    "dsn_password_control": gettext_noop(
        "The password must not contain line breaks or control characters."
    ),
    "dsn_default_from_email": gettext_noop(
        "_default_from_email %(value)r is not a valid sender. Use"
        " addr@example.com or Name <addr@example.com>."
    ),
    "dsn_sender_domains": gettext_noop(
        "_sender_domains: %(value)r is not a domain name such as example.com."
    ),
    "dsn_backups": gettext_noop(
        "_backups: %(value)r is not a host key: use letters, digits, - and _."
    ),
    "dsn_missing_host": gettext_noop(
        "%(scheme)s:// needs a host, as in %(scheme)s://smtp.example.com."
    ),
    "dsn_ssl_and_tls": gettext_noop(
        "ssl (implicit TLS) and tls (STARTTLS) exclude each other. Keep one of them."
    ),
    "dsn_local_netloc": gettext_noop(
        "%(scheme)s:// takes no host, user name or password."
    ),
    "dsn_local_parameters": gettext_noop("%(scheme)s:// does not take %(names)s."),
    "dsn_oauth2_without_flow": gettext_noop(
        "These parameters apply only to an OAuth2 login: %(names)s. Add"
        " oauth2=client_credentials or oauth2=microsoft, or remove them."
    ),
    "dsn_oauth2_flow": gettext_noop(
        "Unknown oauth2 value %(value)r. Use one of %(known)s."
    ),
    "dsn_oauth2_credentials": gettext_noop(
        "An OAuth2 login needs the mailbox as the user name and the client"
        " secret as the password, as in"
        " submission://mailbox%%40example.com:SECRET@smtp.office365.com."
    ),
    "dsn_oauth2_missing": gettext_noop("oauth2=%(flow)s needs %(names)s."),
    "dsn_oauth2_refused": gettext_noop(
        "oauth2=%(flow)s does not take %(names)s. Remove them; oauth2=microsoft"
        " fills in the token URL and scope from the tenant."
    ),
    "dsn_sasl": gettext_noop("Unknown sasl value %(value)r. Use one of %(known)s."),
    "dsn_oauth2_client_id": gettext_noop(
        "client_id must not contain spaces or control characters."
    ),
    "dsn_oauth2_scope": gettext_noop(
        "scope must be scope names separated by single spaces (%%20)."
    ),
    "dsn_oauth2_tenant": gettext_noop(
        "tenant %(value)r is not a tenant ID or domain name such as"
        " contoso.onmicrosoft.com."
    ),
    "dsn_oauth2_plaintext": gettext_noop(
        "An OAuth2 login sends a token that lets anyone holding it send as the"
        " mailbox: use submission://, or add tls or ssl, so that it travels"
        " encrypted."
    ),
    "dsn_oauth2_token_url": gettext_noop(
        "token_url must be an https:// URL without a user name or password"
        " (http:// only for a server on this machine, in tests)."
    ),
    "dsn_oauth2_authorize_url": gettext_noop(
        "authorize_url must be an https:// URL without a user name or password"
        " (http:// only for a server on this machine, in tests)."
    ),
}


def invalid(code, **params):
    """Return the ``ValidationError`` for ``code``, translated when shown."""
    # Always pass params, so that "%%" renders as "%" in every message.
    return ValidationError(
        gettext_lazy(MESSAGES[code]), code=code, params=params or {"_": None}
    )


def render_error(error):
    """
    Return a DSN ``ValidationError``'s message in English, without touching
    the translation machinery (which is not ready while settings load).
    """
    return MESSAGES[error.code] % (error.params or {"_": None})
