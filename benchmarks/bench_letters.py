#!/usr/bin/env python
"""Benchmark formal-notice rendering: letters per second, in one process and in a bounded
pool of processes.

    DATABASE_URL=postgres://… .venv/bin/python benchmarks/bench_letters.py [-n 40] [--processes 4]

It sets Django up, makes sure a benchmark customer (``411BENCH``: 8 late invoices, some
partly paid, a reminder history) exists in the database named by DATABASE_URL (run with
``--migrate`` on an empty database), then renders the same letter N times: what each
render costs is the real work (three ledger queries, the interest, the template,
WeasyPrint). Nothing is stored or sent. The first render of a process pays for the
FontConfiguration and the fonts; it is timed apart.

In production the rendering runs in the django-q2 workers, so letters are rendered at
most ``Q_WORKERS`` at a time: this script's ``--processes K`` is what K workers give.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")  # a development key suffices: nothing is served

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections, transaction  # noqa: E402

from customers.models import Customer  # noqa: E402
from receivables import services  # noqa: E402
from receivables.models import CompanyProfile  # noqa: E402
from reminders.letters.context import render_letter_pdf  # noqa: E402
from reminders.models import Reminder, ScenarioStep  # noqa: E402

REF = "411BENCH"
LETTER_DATE = datetime.date(2026, 11, 22)


@transaction.atomic
def ensure_data() -> Customer:
    """The benchmark customer, created once (idempotent)."""
    customer = Customer.objects.filter(customer_ref=REF).first()
    if customer is not None:
        return customer
    company = CompanyProfile.get()
    if not company.iban:
        company.city = company.city or "Lyon"
        company.iban = "FR7630006000011234567890189"
        company.bic = "AGRIFRPPXXX"
        company.save()
    customer = Customer.objects.create(
        customer_ref=REF,
        name="Benchmark Industries SAS",
        address_line1="10 avenue des Tests",
        postal_code="69007",
        city="Lyon",
        siren="732829320",
    )
    for i in range(8):
        issue = datetime.date(2026, 3, 1) + datetime.timedelta(days=20 * i)
        invoice = services.invoice_create(
            customer=customer,
            number=f"BENCH-{i + 1:03d}",
            issue_date=issue,
            due_date=issue + datetime.timedelta(days=30),
            amount=Decimal("1250.00") + 310 * i,
            plan="50_50" if i % 3 == 0 else "single",
            confirmed=True,  # a fixed history, which a later day finds more than a year old
        )
        if i % 2 == 0:
            services.payment_record(
                customer=customer,
                date=invoice.due_date + datetime.timedelta(days=12),
                amount=Decimal("400.00"),
                invoice=invoice,
            )
    steps = ScenarioStep.objects.filter(scenario__is_default=True).order_by("position")[:3]
    for n, step in enumerate(steps):
        day = datetime.date(2026, 5, 2) + datetime.timedelta(days=7 * n)
        Reminder.objects.create(
            customer=customer, step=step, channel="email", status="sent", run_date=day,
            attempted_on=day, sent_at=datetime.datetime(2026, 5, 2 + 7 * n, 9, tzinfo=datetime.UTC),
        )  # fmt: skip
    return customer


def render_one(_: int = 0) -> tuple[int, float]:
    """Render the benchmark letter; returns its size and the CPU seconds it took (the
    wall-clock time depends on what else the machine runs, the CPU time much less)."""
    cpu = time.process_time()
    customer = Customer.objects.get(customer_ref=REF)
    size = len(render_letter_pdf(customer=customer, letter_date=LETTER_DATE))
    return size, time.process_time() - cpu


def _warm_worker() -> None:
    render_one()  # the FontConfiguration and fonts of this process


def _barrier(_: int) -> int:
    time.sleep(0.3)  # lets every worker finish its initializer before timing starts
    return os.getpid()


def bench_single(n: int) -> float:
    start = time.perf_counter()
    size, _cpu = render_one()
    first = time.perf_counter() - start
    print(f"first letter (fonts, FontConfiguration): {first:.2f} s, {size} bytes")
    start = time.perf_counter()
    cpu = sum(render_one()[1] for _ in range(n))
    elapsed = time.perf_counter() - start
    rate = n / elapsed
    print(f"1 process: {n} letters in {elapsed:.2f} s -> {rate:.2f} letters/s "
          f"({1000 * elapsed / n:.0f} ms per letter, {1000 * cpu / n:.0f} ms CPU)")  # fmt: skip
    return rate


def bench_pool(n: int, processes: int) -> float:
    connections.close_all()  # children open their own connections
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=processes, initializer=_warm_worker) as pool:
        pool.map(_barrier, range(processes), chunksize=1)
        start = time.perf_counter()
        results = list(pool.imap_unordered(render_one, range(n), chunksize=1))
        elapsed = time.perf_counter() - start
    assert len(results) == n
    rate = n / elapsed
    cpu = sum(c for _, c in results)
    print(f"{processes} processes: {n} letters in {elapsed:.2f} s -> {rate:.2f} letters/s "
          f"({1000 * cpu / n:.0f} ms CPU per letter)")  # fmt: skip
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--letters", type=int, default=30, help="letters to render")
    parser.add_argument("--processes", type=int, default=0, help="also render with K processes")
    parser.add_argument("--migrate", action="store_true", help="apply migrations first")
    args = parser.parse_args()
    if args.migrate:
        call_command("migrate", verbosity=0)
    customer = ensure_data()
    db = connections["default"].settings_dict
    print(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}; customer {customer}; "
          f"CPUs: {os.cpu_count()}")  # fmt: skip
    bench_single(args.letters)
    if args.processes:
        bench_pool(args.letters, args.processes)


if __name__ == "__main__":
    main()
