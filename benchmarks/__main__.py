"""``python -m benchmarks``: each hot path beside a floor measured in the same run on the
same data (issue #13).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python -m benchmarks --invoices 1000000 --customers 20000 [--load]
    DATABASE_URL=… .venv/bin/python -m benchmarks --quick        # CI: a few minutes

The database named by DATABASE_URL is the benchmark's own: it is filled by the generator
(benchmarks/data.py), which refuses one that holds real data. ``--quick`` loads 2,000 then
10,000 invoices, runs every page at both sizes and exits 1 when a query count grows with
the data or a path's answer differs from its floor's. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
import warnings

GROUPS = ("aged", "pages", "escalation", "emails", "letters", "import", "load")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--invoices", type=int, help="default 1,000,000 (--quick: 10,000)")
    parser.add_argument("--customers", type=int, help="default 20,000 (--quick: 2,000)")
    parser.add_argument("--repeat", type=int, help="timed runs per path (default 5, --quick 3)")
    parser.add_argument("--quick", action="store_true", help="small data, fewer runs, checks")
    parser.add_argument("--load", action="store_true", help="also the load test (with --quick)")
    parser.add_argument("--no-generate", action="store_true", help="measure the data as it is")
    parser.add_argument("--only", help=f"comma-separated groups among {', '.join(GROUPS)}")
    parser.add_argument("--emails", type=int, help="default 1,000 (--quick: 100)")
    parser.add_argument("--letters", type=int, help="default 200 (--quick: 10)")
    parser.add_argument("--import-rows", type=int, help="default 100,000 (--quick: 1,000)")
    parser.add_argument("--users", type=int, default=50, help="load test users (default 50)")
    parser.add_argument("--duration", type=int, default=60, help="load test seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (load test)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--create-database", action="store_true", help="create DATABASE_URL's database if missing"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.invoices = args.invoices or (10_000 if quick else 1_000_000)
    args.customers = args.customers or (2_000 if quick else 20_000)
    args.repeat = args.repeat or (3 if quick else 5)
    args.emails = args.emails if args.emails is not None else (100 if quick else 1_000)
    args.letters = args.letters if args.letters is not None else (10 if quick else 200)
    args.import_rows = args.import_rows if args.import_rows is not None else (
        1_000 if quick else 100_000
    )  # fmt: skip
    groups = set(GROUPS) if not args.only else {g.strip() for g in args.only.split(",")}
    unknown = groups - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; choose among {GROUPS}")
    if quick and not args.load:
        groups.discard("load")
    elif args.load:
        groups.add("load")
    args.groups = groups
    return args


def create_database(url: str) -> None:
    """Create the database named by ``url`` when it does not exist (through the server's
    ``postgres`` database, autocommit)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def step(label: str) -> float:
    print(f"==> {label}", flush=True)
    return time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a PostgreSQL database of the benchmark's own.", file=sys.stderr)
        return 2
    if args.create_database:
        create_database(url)
    os.environ["DEBUG"] = "false"  # measured as served
    # WhiteNoise warns that nothing was collected: in-process pages need no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    os.environ["EMAIL_URL"] = "dummymail://"  # nothing leaves but to the local sink
    from benchmarks.data import RealDataError, generate, setup_django

    setup_django()
    from benchmarks import paths, report

    started = time.perf_counter()
    rows: list[report.Row] = []
    small_pages: dict = {}
    small_escalation = None
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "invoices": args.invoices,
        "customers": args.customers,
        "repeat": args.repeat,
        "quick": args.quick,
        "machine": f"{platform.node()} {os.cpu_count()} CPUs",
    }
    try:
        if args.quick and not args.no_generate:
            small = max(args.invoices // 5, 1)
            step(f"generating the small data set ({small} invoices)")
            counts = generate(invoices=small, customers=max(args.customers // 5, 1), snapshots=12)
            print("  " + counts.summary())
            if "pages" in args.groups:
                step("pages on the small data set (query counts)")
                small_pages = paths.page_query_counts()
            if "escalation" in args.groups:
                small_escalation = paths.escalation_queries()
        if not args.no_generate:
            step(f"generating {args.invoices} invoices for {args.customers} customers")
            counts = generate(
                invoices=args.invoices,
                customers=args.customers,
                snapshots=12,  # a ledger in use for a year has them: the KPIs read them
            )
            print("  " + counts.summary(), flush=True)
            meta["generation"] = counts.summary()
    except RealDataError as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 2
    from benchmarks.data import check_database

    try:
        from django.db import connection

        check_database(connection)
    except RealDataError as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 2
    rows += run_groups(args, small_pages, small_escalation, meta)
    print()
    print(report.render_table(rows))
    found = report.problems(rows)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        report.write_json(args.json, rows, meta)
    print(f"\n{args.invoices} invoices, {args.customers} customers, {meta['seconds']} s in all")
    if found:
        print("\nFAILED:\n" + "\n".join(f"- {p}" for p in found), file=sys.stderr)
        return 1
    return 0


def run_groups(args, small_pages: dict, small_escalation: int | None, meta: dict) -> list:
    """Run the chosen groups in order; each row is printed as soon as it is measured (and
    the JSON rewritten), and a group that fails is a failed row, the others go on."""
    from benchmarks import io_paths, paths, report

    plan = [
        ("aged", "aged balance", lambda: paths.aged_balance_rows(args.repeat)),
        (
            "escalation",
            "daily escalation decision",
            lambda: [paths.escalation_row(args.repeat, small_escalation)],
        ),
        ("pages", "pages", lambda: paths.page_rows(args.repeat, small_pages, show)),
        (
            "emails",
            f"{args.emails} reminder emails",
            lambda: [io_paths.email_row(args.emails, args.repeat)] if args.emails else [],
        ),
        (
            "letters",
            f"{args.letters} formal notices",
            lambda: [io_paths.letter_row(args.letters)] if args.letters else [],
        ),
        (
            "import",
            f"importing {args.import_rows} invoices",
            lambda: [io_paths.import_row(args.import_rows)] if args.import_rows else [],
        ),
        (
            "load",
            f"{args.users} users for {args.duration} s (gunicorn, locust)",
            lambda: [load_row(args)],
        ),
    ]
    rows: list = []
    shown: set[int] = set()

    def show(row) -> None:
        print(f"  {row.path}:", report.render_line(row), flush=True)
        shown.add(id(row))

    for group, label, run in plan:
        if group not in args.groups:
            continue
        step(label)
        try:
            measured = run()
        except Exception as exc:  # reported as a failed row, and the run goes on
            traceback.print_exc()
            measured = [report.failed_row(label, exc)]
        for row in measured:
            if id(row) not in shown:
                show(row)
        rows += measured
        if args.json:
            report.write_json(args.json, rows, meta)
    return rows


def load_row(args):
    from benchmarks.data import PASSWORD, USER_PREFIX
    from benchmarks.load import run_locust
    from benchmarks.report import Measure, Row

    stats = run_locust(
        database_url=os.environ["DATABASE_URL"],
        users=args.users,
        duration=args.duration,
        workers=args.workers,
        username=f"{USER_PREFIX}finance",
        password=PASSWORD,
    )
    total = next(r for r in stats if r["Name"] == "Aggregated")
    errors = int(total["Failure Count"])
    p50, p95 = float(total["50%"]) / 1000, float(total["95%"]) / 1000
    return Row(
        f"{args.users} users for {args.duration} s",
        Measure(times=[p50], answer=errors, p95_value=p95),
        note="per request, all pages; no floor",
        errors=errors,
        figures={
            "requests/s": f"{float(total['Requests/s']):.1f}",
            "requests": total["Request Count"],
            "errors": errors,
        },
    )


if __name__ == "__main__":
    sys.exit(main())
