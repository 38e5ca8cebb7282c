"""
Settings for bench/peers.py and the workers it starts: the bench's, on a
PostgreSQL database of its own, with django-mailer and django-post-office
installed beside the outbox, each as its documentation sets it up.

EMAIL_HOSTS_BENCH_SETTINGS (JSON) adds a run's own settings: the relay's
port for the peers, which send through Django's EMAIL_* settings, and their
lock files.
"""

import json
import os

from bench.settings import *


DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "email_hosts_bench_peers",
        "HOST": "127.0.0.1",
        "USER": "postgres",
    }
}
INSTALLED_APPS = [*INSTALLED_APPS, "mailer", "post_office"]
# The outbox's runs go to django-tasks-db, and a db_worker process runs them.
EMAIL_HOSTS_OUTBOX = {"TASK_BACKEND": "database"}
# Each peer's worker sends with Django's SMTP backend (their default).
MAILER_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
POST_OFFICE = {"BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"}}

globals().update(json.loads(os.environ.get("EMAIL_HOSTS_BENCH_SETTINGS", "{}")))
