# settings.py, Django 6.1
import email_hosts


EMAIL_HOSTS = {
    "club": "submission://club:secret@smtp.example.org?_default_from_email=club@example.org",
}

MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "smtp.example.net", "use_tls": True},
    },
    # EMAIL_HOSTS entries as MAILERS entries, as in django-email-hosts 0.3.
    # Each replaces an entry with the same key written above this line.
    **email_hosts.mailers(EMAIL_HOSTS),
    # Served by the stored host "shop"; it has no OPTIONS of its own.
    # Written below, so that an EMAIL_HOSTS entry "shop" cannot replace it.
    "shop": {"BACKEND": "email_hosts.backends.EmailHostsBackend"},
}

# Then: EmailMessage("Hi", "...", to=["a@example.com"]).send(using="shop")
