"""
Relays that log in with OAuth2 instead of a password: which destination a
token belongs to (``binding``), where access tokens come from (``client``,
``tokens``), how the SMTP login uses them (``sasl``), and the mailboxes an
admin connected (``accounts``, ``consent``). What a DSN says about OAuth2
is a DSN rule: ``email_hosts.dsn.oauth2``.
"""
