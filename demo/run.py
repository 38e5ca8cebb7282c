"""
`make demo`: migrate, create the demo admin and hosts, start three local
relays that print what they receive, send one message per sender domain
through RoutingBackend (one of them by way of a backup), queue one in the
outbox for a worker (django-tasks-db's db_worker, which keeps running beside
the site), then serve the admin. Ctrl-C stops everything.

``python demo/run.py --once`` stops after the sample messages.
"""

import logging
import os
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

SITE = "127.0.0.1:8000"
SENDERS = (
    "Shop <shop@example.com>",
    "Club <club@example.org>",
    "News <news@example.net>",
)


class PrintingHandler:
    """Print each mail with the name of the relay it arrived at."""

    def __init__(self, name, port):
        self.label = f"{name} (127.0.0.1:{port})"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd API
        print(
            f"\n--- {self.label} received mail from {envelope.mail_from}"
            f" to {', '.join(envelope.rcpt_tos)} ---"
        )
        print(envelope.content.decode("utf-8", "replace").rstrip())
        print("--- end of mail ---\n", flush=True)
        return "250 Message accepted for delivery"


def create_demo_data():
    from django.conf import settings  # noqa: PLC0415 -- after setup
    from django.contrib.auth.models import User  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    from email_hosts.models import EmailHost  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", "admin")
    # Overrides EMAIL_HOSTS["shop"] (a relay that is down) without a deploy.
    EmailHost.objects.get_or_create(
        key="shop",
        defaults={
            "dsn": settings.DEMO_STORED_SHOP,
            "default_from": "Shop <shop@example.com>",
        },
    )


def start_relays():
    from aiosmtpd.controller import Controller  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415

    controllers = [
        Controller(PrintingHandler(name, port), hostname="127.0.0.1", port=port)
        for port, name in settings.DEMO_RELAYS.items()
    ]
    for controller in controllers:
        controller.start()
    return controllers


def send_samples():
    """Send one message per sender domain, as Django's own mail would go."""
    from django.core.mail import send_mail  # noqa: PLC0415

    for sender in SENDERS:
        print(f"Sending as {sender} through RoutingBackend ...", flush=True)
        send_mail(
            "Routed by its sender", "Hello from the demo.", sender, ["you@example.net"]
        )


def queue_and_deliver_a_sample():
    """Queue one message in the outbox, then let a worker deliver it."""
    from django.core.mail import EmailMessage  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    from email_hosts.outbox import OutboxBackend  # noqa: PLC0415

    print("Queueing as Club <club@example.org> in the outbox ...", flush=True)
    message = EmailMessage(
        "Queued in the outbox",
        "Hello from the demo's outbox.",
        "Club <club@example.org>",
        ["you@example.net"],
    )
    # send_messages(): Django 6.1 deprecates send_mail(connection=...).
    OutboxBackend(host="club").send_messages([message])
    print("A worker delivers it (manage.py db_worker) ...", flush=True)
    call_command(
        "db_worker", batch=True, startup_delay=False, reload=False, verbosity=0
    )


def start_worker():
    """Run manage.py db_worker beside the site, for mail the admin queues."""
    import subprocess  # noqa: PLC0415

    return subprocess.Popen(
        [sys.executable, "-m", "django", "db_worker", "--no-reload"],
        cwd=Path(__file__).resolve().parent.parent,
    )


def main(*, once=False):
    import django  # noqa: PLC0415 -- after DJANGO_SETTINGS_MODULE is set

    django.setup()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    create_demo_data()
    controllers = start_relays()
    worker = None
    try:
        send_samples()
        queue_and_deliver_a_sample()
        if once:
            return
        worker = start_worker()
        from django.core.management import call_command  # noqa: PLC0415

        print(
            f"Open http://{SITE}/ and log in as admin / admin (demo only). The list"
            " shows where each host comes from (the stored 'shop' overrides the"
            " setting) and who sends for each sender domain. Ctrl-C stops"
            " everything.\n",
            flush=True,
        )
        call_command("runserver", SITE, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait()
        for controller in controllers:
            controller.stop()


if __name__ == "__main__":
    main(once="--once" in sys.argv)
