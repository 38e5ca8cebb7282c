"""An edit is seen by the very next resolve in another, long-running process."""

import subprocess
import sys

from tests.conftest import ROOT, manage, process_environment


KEYS = ["a-key"]
RESOLVER = """
import django, sys
django.setup()
from email_hosts.backends import get_connection
for _line in sys.stdin:
    backend = get_connection("shop", fallback=False)
    print(backend.host, backend.port, backend.username, backend.default_from_email, flush=True)
"""


def _edit(database, dsn, default_from):
    code = (
        "from email_hosts.models import EmailHost\n"
        f"EmailHost.objects.update_or_create(key='shop', defaults={{'dsn': {dsn!r},"
        f" 'default_from': {default_from!r}}})"
    )
    manage("shell", "-c", code, database=database, fernet_keys=KEYS)


def test_an_edit_in_one_process_is_seen_by_the_next_resolve_in_another(shared_database):
    _edit(shared_database, "smtp://user-a@first.example.com:2525", "a@example.com")
    with subprocess.Popen(
        [sys.executable, "-W", "error", "-c", RESOLVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=process_environment(database=shared_database, fernet_keys=KEYS),
    ) as resolver:

        def resolve():
            resolver.stdin.write("resolve\n")
            resolver.stdin.flush()
            return resolver.stdout.readline().split()

        assert resolve() == ["first.example.com", "2525", "user-a", "a@example.com"]
        assert resolve() == ["first.example.com", "2525", "user-a", "a@example.com"]
        _edit(shared_database, "smtp://user-b@second.example.com:2626", "b@example.com")
        assert resolve() == ["second.example.com", "2626", "user-b", "b@example.com"]
        _edit(shared_database, "smtp://user-a@first.example.com:2525", "a@example.com")
        assert resolve() == ["first.example.com", "2525", "user-a", "a@example.com"]
        resolver.stdin.close()
