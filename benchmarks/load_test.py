"""Load benchmark: median and p95 response times of the main pages under concurrent
users, against gunicorn on PostgreSQL, all on loopback.

    .venv/bin/python benchmarks/load_test.py                 # 10,000 customers, 200,000 invoices
    .venv/bin/python benchmarks/load_test.py --customers 1000 --invoices 20000 --duration 30

It creates (once) the database given by --database-url (default: the local PostgreSQL,
database relance_load), fills it with the benchmark's generator (benchmarks/data.py, which
refuses a database holding real data), starts gunicorn on 127.0.0.1, runs Locust headless
for a bounded time as the bench finance user and prints a table per page. It stops
everything it started, and exits non-zero if any request failed. ``python -m benchmarks
--load`` runs the same load beside the other hot paths.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.data import PASSWORD, USER_PREFIX  # noqa: E402
from benchmarks.load import PY, print_stats, run_locust, server_env  # noqa: E402


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
    username = f"{USER_PREFIX}finance"
    env = server_env(args.database_url, username=username, password=PASSWORD)
    if args.database_url.startswith("postgres"):
        dbname = args.database_url.rsplit("/", 1)[1]
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", dbname],
            capture_output=True,
            check=False,
        )
    probe = subprocess.run(
        [PY, "manage.py", "shell", "-c",
         "from customers.models import Customer; print(Customer.objects.count())"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    existing = (
        probe.stdout.strip().splitlines()[-1]
        if probe.returncode == 0 and probe.stdout.strip()
        else "0"
    )
    if args.reset or existing != str(args.customers):
        print(f"==> generating {args.customers} customers and {args.invoices} invoices")
        subprocess.run(
            [PY, "-m", "benchmarks.data", "--customers", str(args.customers),
             "--invoices", str(args.invoices)],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
    else:
        print(f"==> reusing the {existing} customers already in the database")
    duration = min(args.duration, 600)
    print(f"==> {args.users} users for {duration} s")
    rows = run_locust(
        database_url=args.database_url,
        users=args.users,
        duration=duration,
        workers=args.workers,
        username=username,
        password=PASSWORD,
    )
    failures = print_stats(rows)
    print(
        f"\n{args.customers} customers, {args.invoices} invoices, {args.users} users, "
        f"{duration} s, gunicorn x{args.workers}; errors: {failures}"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
