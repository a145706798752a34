"""Concurrent users: Locust (benchmarks/locustfile.py) against gunicorn on PostgreSQL, all
on 127.0.0.1, for a bounded time. Used by ``python -m benchmarks --load`` and by
benchmarks/load_test.py."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MAX_SECONDS = 600


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer on {url}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, *, username: str, password: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "load-test-only-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "WARNING",
        "RELANCE_LOAD_USER": username,
        "RELANCE_LOAD_PASSWORD": password,
    }


def run_locust(
    *,
    database_url: str,
    users: int,
    duration: int,
    workers: int,
    username: str,
    password: str,
) -> list[dict[str, str]]:
    """Start gunicorn on a free loopback port, run Locust headless for ``duration``
    seconds (at most :data:`MAX_SECONDS`) with ``users`` users, stop everything; returns
    Locust's per-page statistics rows (the last one, "Aggregated", is all pages)."""
    duration = min(duration, MAX_SECONDS)
    env = server_env(database_url, username=username, password=password)
    subprocess.run(
        [PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    gunicorn = subprocess.Popen(
        [PY, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(f"{host}/login/")
        with tempfile.TemporaryDirectory() as tmp:
            prefix = Path(tmp) / "stats"
            subprocess.run(
                [PY, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"),
                 "--headless", "--host", host, "-u", str(users), "-r", str(users),
                 "-t", f"{duration}s", "--csv", str(prefix), "--only-summary",
                 "--stop-timeout", "10"],
                cwd=ROOT,
                env=env,
                check=False,
                timeout=duration + 120,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
                return list(csv.DictReader(stats))
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)


def print_stats(rows: list[dict[str, str]]) -> int:
    """Print Locust's table; returns the number of failed requests."""
    print(
        f"\n{'page':<18}{'requests':>10}{'failures':>10}{'median ms':>11}{'p95 ms':>9}{'req/s':>8}"
    )
    failures = 0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
        failures += int(row["Failure Count"]) if name == "ALL" else 0
        print(
            f"{name:<18}{row['Request Count']:>10}{row['Failure Count']:>10}"
            f"{row['50%']:>11}{row['95%']:>9}{float(row['Requests/s']):>8.1f}"
        )
    return failures
