"""Benchmark of the daily reminder run over a large ledger.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python benchmarks/bench_reminders.py --installments 100000

Uses the database given by DATABASE_URL, which must be a dedicated one: the ledger and
reminder tables are emptied first. Creates the data with bulk_create (customers with a
billing contact, invoices with two installments, due dates spread over the last 60 days,
some partial payments, disputes and promises), then times a dry run, the daily run (one
email per customer, sent through the dummy mail backend: nothing leaves), a rerun of the
same day, and the next business day's run. Prints timings and query counts.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to a dedicated database (its ledger tables are emptied).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    os.environ["EMAIL_URL"] = "dummymail://"  # never send anything from a benchmark
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def timed(label: str, results: list):
    from django.db import connection

    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        yield
    elapsed = time.perf_counter() - start
    results.append((label, elapsed, counter.count))
    print(f"{label:<48} {elapsed:9.2f} s {counter.count:7d} queries", flush=True)


def empty_tables() -> None:
    from django.core.management.color import no_style
    from django.db import connection

    from customers.models import Activity, Contact, Customer
    from receivables.models import Allocation, Dispute, Installment, Invoice, Payment, PromiseToPay
    from reminders.models import Reminder, ReminderItem, ReminderRun

    models = [
        ReminderItem,
        Reminder,
        ReminderRun,
        Activity,
        Allocation,
        Payment,
        Installment,
        Dispute,
        PromiseToPay.invoices.through,
        PromiseToPay,
        Invoice,
        Contact,
        Customer,
    ]
    tables = [m._meta.db_table for m in models]
    statements = connection.ops.sql_flush(
        no_style(), tables, reset_sequences=True, allow_cascade=True
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def create_ledger(installments: int, run_date: datetime.date, batch: int = 5000) -> dict:
    """Customers with 2 invoices of 2 installments each; due dates spread over the 60
    days before ``run_date`` (and a few not yet due)."""
    from customers.models import Contact, Customer
    from receivables.models import Dispute, Installment, Invoice, PromiseToPay

    n_customers = max(installments // 4, 1)
    customers = Customer.objects.bulk_create(
        (
            Customer(
                customer_ref=f"BENCH{i:07d}",
                name=f"Client {i} SAS",
                language="en" if i % 5 == 0 else "fr",
            )
            for i in range(n_customers)
        ),
        batch_size=batch,
    )
    Contact.objects.bulk_create(
        (
            Contact(customer=c, name=f"Compta {c.pk}", email=f"compta{c.pk}@bench.example")
            for c in customers
        ),
        batch_size=batch,
    )
    invoices = []
    for i, customer in enumerate(customers):
        for k in range(2):
            due = run_date - datetime.timedelta(days=(i * 7 + k * 13) % 70 - 10)
            invoices.append(
                Invoice(
                    customer=customer,
                    number=f"B{i:07d}-{k}",
                    issue_date=due - datetime.timedelta(days=30),
                    due_date=due,
                    amount=Decimal("1200.00"),
                )
            )
    invoices = Invoice.objects.bulk_create(invoices, batch_size=batch)
    parts = []
    for j, invoice in enumerate(invoices):
        for seq in (1, 2):
            due = invoice.due_date + datetime.timedelta(days=(seq - 1) * 5)
            paid = Decimal("150.00") if j % 10 == 0 and seq == 1 else Decimal("0.00")
            parts.append(
                Installment(
                    invoice=invoice,
                    sequence=seq,
                    due_date=due,
                    amount=Decimal("600.00"),
                    paid_amount=paid,
                )
            )
    Installment.objects.bulk_create(parts, batch_size=batch)
    Dispute.objects.bulk_create(
        (Dispute(invoice=inv, reason="price") for inv in invoices[::100]), batch_size=batch
    )
    promises = PromiseToPay.objects.bulk_create(
        (
            PromiseToPay(
                customer=c,
                promised_date=run_date + datetime.timedelta(days=5),
                amount=Decimal("500.00"),
            )
            for c in customers[::97]
        ),
        batch_size=batch,
    )
    return {
        "customers": len(customers),
        "invoices": len(invoices),
        "installments": len(parts),
        "promises": len(promises),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installments", type=int, default=100_000)
    parser.add_argument("--date", default="2026-06-02", help="run date (a business day)")
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection

    from reminders import services
    from reminders.models import Reminder
    from reminders.run.plan import is_business_day

    run_date = datetime.date.fromisoformat(args.date)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    results: list = []
    with timed("empty the ledger tables", results):
        empty_tables()
    with timed("create the ledger (bulk_create)", results):
        counts = create_ledger(args.installments, run_date)
    print("created:", ", ".join(f"{v} {k}" for k, v in counts.items()))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a bulk load
    with timed(f"dry run {run_date}", results):
        dry = services.reminders_dry_run(run_date=run_date)
    print(f"  dry run: {len(dry.plans)} customers would get something")
    with timed(f"daily run {run_date}", results):
        first = services.reminders_run(run_date=run_date)
    print(f"  planned {first.planned}, sent {first.sent}, failed {first.failed}")
    with timed(f"rerun {run_date} (nothing to do)", results):
        again = services.reminders_run(run_date=run_date)
    print(f"  planned {again.planned}, sent {again.sent}")
    next_day = run_date + datetime.timedelta(days=1)
    while not is_business_day(next_day):
        next_day += datetime.timedelta(days=1)
    with timed(f"next business day {next_day}", results):
        second = services.reminders_run(run_date=next_day)
    print(f"  planned {second.planned}, sent {second.sent}")
    print(
        "reminders in the log:",
        Reminder.objects.count(),
        "| emails sent:",
        Reminder.objects.filter(channel="email", status="sent").count(),
    )


if __name__ == "__main__":
    main()
