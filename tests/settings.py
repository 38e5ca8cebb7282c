"""Settings for the test suite. DB=sqlite|postgresql|mariadb picks the database."""

import os

import django


DATABASES_BY_NAME = {
    "sqlite": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    "postgresql": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "test",
        "HOST": "127.0.0.1",
        "USER": os.environ.get("PGUSER", "postgres"),
    },
    "mariadb": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": "test",
        "HOST": "127.0.0.1",
        "USER": "root",
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"CHARSET": "utf8mb4"},
    },
}
DATABASES = {"default": DATABASES_BY_NAME[os.environ.get("DB", "sqlite")]}

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_FROM_EMAIL = "webmaster@localhost"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "email_hosts",
]

if django.VERSION >= (6, 1):
    # Without MAILERS, Django 6.1 warns that Django 2028 needs it.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
