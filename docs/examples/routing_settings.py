# Stands in for what settings.py holds after the quickstart (and, for
# MAILERS, Django 6.1's startproject); the docs show what comes after it.
EMAIL_HOSTS = {}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
# Shown in the docs from here.
# settings.py: add to what the quickstart set.
import django


EMAIL_HOSTS |= {
    "shop": "submission://shop:secret@smtp.example.com"
    "?_default_from_email=info@example.com&_backups=spare",
    "club": "submission://club:secret@smtp.example.org"
    "?_default_from_email=info@example.org&_sender_domains=example.net",
    "spare": "submission://spare:secret@smtp.example.info",
}
# For senders whose domain no host serves; None means Django's default.
EMAIL_HOSTS_FALLBACK = "shop"

if django.VERSION >= (6, 1):
    # Replaces the console "default"; the other MAILERS entries stay.
    MAILERS["default"] = {
        "BACKEND": "email_hosts.routing.RoutingBackend",
        "OPTIONS": {"fallback": "shop"},
    }
else:
    EMAIL_BACKEND = "email_hosts.routing.RoutingBackend"
