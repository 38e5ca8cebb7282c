"""
`make demo`: migrate, create the demo admin and a host that points at a
local SMTP server which prints what it receives, then serve the admin.
Ctrl-C stops everything.
"""

import os
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

SMTP_PORT = 1025
SITE = "127.0.0.1:8000"


class PrintingHandler:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd API
        print(
            f"\n--- mail from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)} ---"
        )
        print(envelope.content.decode("utf-8", "replace").rstrip())
        print("--- end of mail ---\n", flush=True)
        return "250 Message accepted for delivery"


def main():
    import django  # noqa: PLC0415 -- after DJANGO_SETTINGS_MODULE is set
    from aiosmtpd.controller import Controller  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    django.setup()
    from django.contrib.auth.models import User  # noqa: PLC0415

    from email_hosts.models import EmailHost  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", "admin")
    EmailHost.objects.get_or_create(
        key="demo",
        defaults={
            "dsn": f"smtp://127.0.0.1:{SMTP_PORT}?timeout=5",
            "default_from": "Demo <demo@example.com>",
        },
    )

    controller = Controller(PrintingHandler(), hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    print(
        f"Demo SMTP server on 127.0.0.1:{SMTP_PORT}; mail it receives is printed here.\n"
        f"Open http://{SITE}/ and log in as admin / admin (demo only).\n"
        "Open the host 'demo' and click 'Send test email'. Ctrl-C stops everything.\n",
        flush=True,
    )
    try:
        call_command("runserver", SITE, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
