"""
Settings for the test suite. DB=sqlite|postgresql|mariadb picks the database.

Tests that start other processes pass EMAIL_HOSTS_TEST_DATABASE (the test
database's name) and EMAIL_HOSTS_TEST_FERNET_KEYS (JSON) to them.
"""

import json
import os

import django


# One per run, so that runs on the same server (a developer's and CI's)
# never drop each other's test database.
TEST_DATABASE_NAME = f"test_email_hosts_{os.getpid()}"
DATABASES_BY_NAME = {
    "sqlite": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    "postgresql": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "test",
        "HOST": "127.0.0.1",
        "USER": os.environ.get("PGUSER", "postgres"),
        "TEST": {"NAME": TEST_DATABASE_NAME},
    },
    "mariadb": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": "test",
        "HOST": "127.0.0.1",
        "USER": "root",
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"NAME": TEST_DATABASE_NAME, "CHARSET": "utf8mb4"},
    },
}
DATABASES = {"default": DATABASES_BY_NAME[os.environ.get("DB", "sqlite")]}
if test_database := os.environ.get("EMAIL_HOSTS_TEST_DATABASE"):
    DATABASES["default"]["NAME"] = test_database
if fernet_keys := os.environ.get("EMAIL_HOSTS_TEST_FERNET_KEYS"):
    FERNET_KEYS = json.loads(fernet_keys)

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
# Fast hashing: the suite logs users in, it does not test password storage.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_FROM_EMAIL = "webmaster@localhost"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "email_hosts",
    # The outbox's embedded queue, for the tests that run real workers.
    "django_tasks_db",
    # A real OAuth2 server for the OAuth2 relays' tests (tests/oauth2_relay.py).
    "oauth2_provider",
]
OAUTH2_PROVIDER = {
    "SCOPES": {"smtp": "Send mail", "introspection": "Check tokens"},
    "DEFAULT_SCOPES": ["smtp"],
    # An hour, as Microsoft's and Google's access tokens last.
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    # The admin's consent comes back to the test server over http.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
}
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
# The outbox delivers on commit in the test process; worker tests enqueue on
# "database" and run django-tasks-db's db_worker in processes of their own.
TASKS_MODULE = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
# The RQ tests' queue in the shared Redis is this run's own.
RQ_QUEUE = os.environ.get("EMAIL_HOSTS_TEST_RQ_QUEUE", f"email_hosts_{os.getpid()}")
TASKS = {
    "default": {"BACKEND": f"{TASKS_MODULE}.backends.immediate.ImmediateBackend"},
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [RQ_QUEUE]},
}
RQ_QUEUES = {RQ_QUEUE: {"HOST": "127.0.0.1", "PORT": 6379, "DB": 0}}
INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
if django.VERSION < (6, 0):
    INSTALLED_APPS.append("django_tasks")
# The Celery tests' workers (tests/celery_app.py), on Redis or, where a test
# sets EMAIL_HOSTS_TEST_CELERY_BROKER, RabbitMQ. Their queue, and on Redis
# their keys, are this run's own, named as the RQ tests' queue.
CELERY_QUEUE = RQ_QUEUE
CELERY_BROKER_URL = os.environ.get(
    "EMAIL_HOSTS_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/0"
)
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{CELERY_QUEUE}:"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# What docs/outbox.rst asks of a site: a run whose worker dies goes back to
# the queue, not with the worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# RabbitMQ takes back a frozen or unreachable worker's tasks after this long.
CELERY_BROKER_HEARTBEAT = 10
if django.VERSION >= (6, 0):  # django-tasks-celery imports django.tasks.
    TASKS["celery"] = {
        "BACKEND": "django_tasks_celery.CeleryBackend",
        "QUEUES": [CELERY_QUEUE],
        "OPTIONS": {"CELERY_APP": "tests.celery_app.app"},
    }
ROOT_URLCONF = "tests.urls"
# As the security docs tell users: error reports mask EMAIL_HOSTS passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "email_hosts.reporting.ExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "email_hosts.reporting.ExceptionReporter"
STATIC_URL = "/static/"

if django.VERSION >= (6, 1):
    # Without MAILERS, Django 6.1 warns that Django 2028 needs it.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

# Settings of a test's own, for the processes it starts (JSON).
globals().update(json.loads(os.environ.get("EMAIL_HOSTS_TEST_SETTINGS", "{}")))
