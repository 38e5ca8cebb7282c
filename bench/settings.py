"""Settings for `make bench`: the test settings on a database that lasts.

BENCH_DB=sqlite|postgresql picks the database.
"""

import os
import tempfile

from tests.settings import *


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
FERNET_KEYS = ["bench-only-key"]
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
DEFAULT_FROM_EMAIL = "bench@example.com"
