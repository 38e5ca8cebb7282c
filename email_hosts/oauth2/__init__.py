"""
Relays that log in with OAuth2 instead of a password: what a DSN says about
it (``config``), where access tokens come from (``tokens``), and how the
SMTP login uses them (``sasl``).
"""
