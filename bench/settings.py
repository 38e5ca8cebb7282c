"""Settings for `make bench`. BENCH_DB=sqlite|postgresql picks the database."""

import os
import tempfile

import django


_SQLITE_PATH = os.path.join(
    tempfile.gettempdir(), f"email-hosts-bench-{os.getpid()}.sqlite3"
)
DATABASES = {
    "default": {
        "sqlite": {"ENGINE": "django.db.backends.sqlite3", "NAME": _SQLITE_PATH},
        "postgresql": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "email_hosts_bench",
            "HOST": "127.0.0.1",
            "USER": "postgres",
        },
    }[os.environ.get("BENCH_DB", "sqlite")]
}
SECRET_KEY = "bench-only"
FERNET_KEYS = ["bench-only-key"]
USE_TZ = True
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_FROM_EMAIL = "bench@example.com"
ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "email_hosts",
]
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
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
