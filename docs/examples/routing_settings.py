# settings.py
import django


EMAIL_HOSTS = {
    "shop": "submission://shop:secret@smtp.example.com"
    "?_default_from_email=info@example.com&_backups=spare",
    "club": "submission://club:secret@smtp.example.org"
    "?_default_from_email=info@example.org&_sender_domains=example.net",
    "spare": "submission://spare:secret@smtp.example.info",
}
# For senders whose domain no host serves; None means Django's default.
EMAIL_HOSTS_FALLBACK = "shop"

if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {
            "BACKEND": "email_hosts.routing.RoutingBackend",
            "OPTIONS": {"fallback": "shop"},
        },
    }
else:
    EMAIL_BACKEND = "email_hosts.routing.RoutingBackend"
