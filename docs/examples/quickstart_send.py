# mysite/mail.py
from django.core.mail import EmailMessage

from email_hosts.backends import get_connection
from email_hosts.models import EmailHost


def add_shop_host():
    # Usually done in the admin; the DSN is stored encrypted. Creates the
    # host, or updates it if it exists (the README's example adds "shop").
    host, _created = EmailHost.objects.update_or_create(
        key="shop",
        defaults={
            "dsn": "submission://shop:secret@smtp.example.com:587?timeout=10",
            "default_from": "Shop <shop@example.com>",
        },
    )
    return host


def send_welcome(address):
    message = EmailMessage("Welcome", "Thanks for signing up.", to=[address])
    # The message has no sender of its own, so it leaves as Shop <shop@example.com>.
    return get_connection("shop").send_messages([message])
