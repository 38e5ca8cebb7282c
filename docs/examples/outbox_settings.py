# Stands in for what settings.py holds after the earlier pages (and, for
# MAILERS, Django 6.1's startproject); the docs show what comes after it.
INSTALLED_APPS = ["email_hosts"]
EMAIL_HOSTS = {
    "shop": "submission://shop:secret@smtp.example.com?_default_from_email=shop@example.com",
}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
# Shown in the docs from here.
# settings.py: add to what the earlier pages set.
import django


INSTALLED_APPS += ["django_tasks_db"]  # The embedded queue: manage.py db_worker.
if django.VERSION < (6, 0):
    INSTALLED_APPS += ["django_tasks"]  # The backport of django.tasks.

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Every message of the site goes through the outbox, routed by its sender,
# through the host "shop" of the earlier pages when no host serves it.
EMAIL_HOSTS_FALLBACK = "shop"
if django.VERSION >= (6, 1):
    MAILERS |= {
        "default": {
            "BACKEND": "email_hosts.outbox.OutboxBackend",
            "OPTIONS": {"fallback": "shop"},
        },
        # send(using="shop") queues through the shop's host and its backups.
        "shop": {
            "BACKEND": "email_hosts.outbox.OutboxBackend",
            "OPTIONS": {"host": "shop"},
        },
    }
else:
    EMAIL_BACKEND = "email_hosts.outbox.OutboxBackend"

# Optional; these are the defaults.
EMAIL_HOSTS_RETRY_DELAYS = [60, 300, 1800, 7200, 21600, 86400]
EMAIL_HOSTS_OUTBOX = {
    "RETENTION_DAYS": 30,
    "WORKER_TIMEOUT_SECONDS": 20,
    "BATCH_SIZE": 100,
    "CONNECTIONS_PER_HOST": 4,
    "TASK_BACKEND": "default",
    "QUEUE_NAME": "default",
    "WORKER_SILENCE_SECONDS": 300,
    "MAX_MESSAGE_BYTES": 50 * 1024 * 1024,
}
