"""Load benchmark: median and p95 response times of the main pages under 20 concurrent
users, against gunicorn on PostgreSQL, all on loopback.

    .venv/bin/python benchmarks/load_test.py                 # 10,000 customers, 200,000 invoices
    .venv/bin/python benchmarks/load_test.py --customers 1000 --invoices 20000 --duration 30

It creates (once) the database given by --database-url (default: the local PostgreSQL,
database relance_load), fills it with benchmarks/make_load_data.py, starts gunicorn on
127.0.0.1, runs Locust headless for a bounded time and prints a table per page. It stops
everything it started, and exits non-zero if any request failed.
"""

from __future__ import annotations

import argparse
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


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer on {url}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description="Relance load benchmark (loopback only).")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/relance_load")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (max 600)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--reset", action="store_true", help="regenerate the data")
    args = parser.parse_args()
    duration = min(args.duration, 600)

    env = os.environ | {
        "DATABASE_URL": args.database_url,
        "DEBUG": "false",
        "SECRET_KEY": "load-test-only-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "WARNING",
    }
    if args.database_url.startswith("postgres"):
        dbname = args.database_url.rsplit("/", 1)[1]
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", dbname],
            capture_output=True,
            check=False,
        )
    data_cmd = [
        PY,
        "benchmarks/make_load_data.py",
        "--customers",
        str(args.customers),
        "--invoices",
        str(args.invoices),
    ]
    probe = subprocess.run(
        [
            PY,
            "manage.py",
            "shell",
            "-c",
            "from customers.models import Customer; print(Customer.objects.count())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    existing = (
        probe.stdout.strip().splitlines()[-1]
        if probe.returncode == 0 and probe.stdout.strip()
        else "0"
    )
    if args.reset or existing != str(args.customers):
        print(f"==> generating {args.customers} customers and {args.invoices} invoices")
        subprocess.run([*data_cmd, "--reset"], cwd=ROOT, env=env, check=True)
    else:
        print(f"==> reusing the {existing} customers already in the database")
    subprocess.run(
        [PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    gunicorn = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for(f"{host}/login/")
        with tempfile.TemporaryDirectory() as tmp:
            prefix = Path(tmp) / "stats"
            print(f"==> {args.users} users for {duration} s against {host}")
            subprocess.run(
                [
                    PY,
                    "-m",
                    "locust",
                    "-f",
                    "benchmarks/locustfile.py",
                    "--headless",
                    "--host",
                    host,
                    "-u",
                    str(args.users),
                    "-r",
                    str(args.users),
                    "-t",
                    f"{duration}s",
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--stop-timeout",
                    "10",
                ],
                cwd=ROOT,
                env=env,
                check=False,
                timeout=duration + 120,
            )
            with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
                rows = list(csv.DictReader(stats))
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)

    print(
        f"\n{'page':<16}{'requests':>10}{'failures':>10}{'median ms':>11}{'p95 ms':>9}{'req/s':>8}"
    )
    failures = 0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
        failures += int(row["Failure Count"]) if name == "ALL" else 0
        print(
            f"{name:<16}{row['Request Count']:>10}{row['Failure Count']:>10}"
            f"{row['50%']:>11}{row['95%']:>9}{float(row['Requests/s']):>8.1f}"
        )
    print(
        f"\n{args.customers} customers, {args.invoices} invoices, {args.users} users, "
        f"{duration} s, gunicorn x{args.workers}; errors: {failures}"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
