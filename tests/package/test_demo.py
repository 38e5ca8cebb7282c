"""make demo shows the product: layering, routing by sender, and a backup."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_ports


ROOT = Path(__file__).parents[2]


def test_the_demo_routes_each_sender_and_fails_over(tmp_path):
    ports = free_ports(5)
    com, org, backup = ports[:3]
    result = subprocess.run(
        [sys.executable, "-W", "error", "demo/run.py", "--once"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ
        | {
            "DJANGO_SETTINGS_MODULE": "demo.settings",
            "DEMO_DATABASE": str(tmp_path / "demo.sqlite3"),
            "DEMO_PORTS": ",".join(map(str, ports)),
        },
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    arrivals = [
        line for line in result.stdout.splitlines() if " received mail " in line
    ]
    assert arrivals == [
        (
            f"--- relay for example.com (127.0.0.1:{com}) received mail from"
            " shop@example.com to you@example.net ---"
        ),
        (
            f"--- relay for example.org (127.0.0.1:{org}) received mail from"
            " club@example.org to you@example.net ---"
        ),
        (
            f"--- backup relay (127.0.0.1:{backup}) received mail from"
            " news@example.net to you@example.net ---"
        ),
        # Queued in the outbox, delivered by the demo's worker.
        (
            f"--- relay for example.org (127.0.0.1:{org}) received mail from"
            " club@example.org to you@example.net ---"
        ),
    ]
    assert "Email host 'news' failed (127.0.0.1:" in result.stderr
    assert "refused the connection; check the host and the port)" in result.stderr
