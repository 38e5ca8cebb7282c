"""What to do when a token endpoint says no, by the provider's own error."""

import re


#: Microsoft Entra's error codes that have one clear fix.
_ENTRA_HINTS = {
    "AADSTS7000215": "The client secret is wrong: copy the secret's Value, not"
    " its ID, from the app registration's Certificates & secrets.",
    "AADSTS7000222": "The client secret has expired: add a new one to the app"
    " registration and put it in the DSN.",
    "AADSTS700016": "No app with this client_id exists in the tenant: check"
    " client_id and tenant.",
    "AADSTS90002": "The tenant does not exist: check tenant.",
    "AADSTS1002012": "The scope is not valid: app-only SMTP needs"
    " https://outlook.office365.com/.default.",
    "AADSTS65001": "Nobody consented to the app's permissions: connect the"
    " account again and accept, or have an administrator grant consent.",
    "AADSTS700082": "The refresh token expired after going unused for 90 days.",
    "AADSTS70008": "The refresh token has expired.",
    "AADSTS50173": "The refresh token was revoked, for example by a password change.",
}
#: RFC 6749's error codes, for any OAuth2 server.
_HINTS = {
    "invalid_client": "Check client_id and the client secret (the DSN's"
    " password); a client secret can expire.",
    "unauthorized_client": "The app may not use client credentials: allow"
    " that grant for it on the OAuth2 server.",
    "invalid_scope": "Check the scope the DSN asks for.",
    "invalid_grant": "The OAuth2 server refused the grant: check the app's"
    " permissions and that an administrator consented to them.",
}


#: The same errors, where they answer a refresh token.
_REFRESH_HINTS = {
    "invalid_grant": "The refresh token was revoked or has expired (the"
    " consent was withdrawn, the password changed, or it went unused).",
}


def refused(oauth2, error, description, *, grant="client_credentials"):
    """Return why the token endpoint refused ``grant``, with what to do."""
    detail = f"{error}: {description}" if description else error
    general = (_REFRESH_HINTS if grant == "refresh_token" else {}).get(
        error, _HINTS.get(error, "See the OAuth2 server's documentation of this error.")
    )
    hint = next(
        (
            text
            for code, text in _ENTRA_HINTS.items()
            if re.search(rf"\b{code}\b", description or "")
        ),
        general,
    )
    return (
        f"the token endpoint at {oauth2.token_host} refused to issue an access"
        f" token ({detail}). {hint}"
    )


def unreachable(oauth2, reason):
    """Return why no answer came from the token endpoint, with what to do."""
    return (
        f"could not get an access token from {oauth2.token_host} ({reason})."
        f" Check that this server can reach {oauth2.token_host} over HTTPS."
    )
