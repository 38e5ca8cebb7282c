"""Settings for `make demo`. Demo only: the keys below are public."""

import os
from pathlib import Path

import django


BASE_DIR = Path(__file__).resolve().parent
DEBUG = True
SECRET_KEY = "demo-only-not-secret"
FERNET_KEYS = ["demo-only-fernet-key"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_FROM_EMAIL = "webmaster@localhost"
# Error reports mask DSN passwords. See docs/security.rst.
DEFAULT_EXCEPTION_REPORTER_FILTER = "email_hosts.reporting.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "email_hosts.reporting.ExceptionReporter"
ROOT_URLCONF = "demo.urls"
STATIC_URL = "/static/"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DATABASE", BASE_DIR / "demo.sqlite3"),
        # The site and its outbox worker write to the same file (see "The
        # cost of never twice" in docs/outbox.rst).
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
        },
    }
}
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "email_hosts",
    # The outbox's queue lives in the demo's database: no service to start.
    "django_tasks_db",
]
if django.VERSION < (6, 0):
    INSTALLED_APPS.append("django_tasks")  # The backport of django.tasks.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# The demo's relays print what they receive (demo/run.py starts them).
# DEMO_PORTS lets a test run the demo beside another.
COM, ORG, BACKUP, DOWN, ALSO_DOWN = map(
    int, os.environ.get("DEMO_PORTS", "1025,1026,1027,1028,1029").split(",")
)
DEMO_RELAYS = {
    COM: "relay for example.com",
    ORG: "relay for example.org",
    BACKUP: "backup relay",
}
# "shop" is also stored in the database (demo/run.py), with the relay for
# example.com: the stored row wins over this one, which is down. "news"
# points at a relay that is down, so its backup "spare" takes over.
EMAIL_HOSTS = {
    "shop": f"smtp://127.0.0.1:{DOWN}?timeout=2&_default_from_email=shop%40example.com",
    "club": f"smtp://127.0.0.1:{ORG}?timeout=5&_default_from_email=club%40example.org",
    "news": (
        f"smtp://127.0.0.1:{ALSO_DOWN}?timeout=2&_sender_domains=example.net"
        "&_backups=spare"
    ),
    "spare": f"smtp://127.0.0.1:{BACKUP}?timeout=5",
}
DEMO_STORED_SHOP = f"smtp://127.0.0.1:{COM}?timeout=5"
# Stored hosts may use only the demo's own relays, each on its own port.
EMAIL_HOSTS_ALLOWED_RELAYS = [f"127.0.0.1:{port}" for port in DEMO_RELAYS]
# Mail whose sender domain no host serves leaves through "shop".
EMAIL_HOSTS_FALLBACK = "shop"
# Django's own mail (password resets, mail_admins) is routed by its sender.
if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {
            "BACKEND": "email_hosts.routing.RoutingBackend",
            "OPTIONS": {"fallback": "shop"},
        }
    }
else:
    EMAIL_BACKEND = "email_hosts.routing.RoutingBackend"
