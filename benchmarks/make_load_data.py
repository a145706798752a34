"""Fill a database with a large synthetic ledger for the load benchmark.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_load \
        .venv/bin/python benchmarks/make_load_data.py --customers 10000 --invoices 200000

Bulk inserts (no per-row service call), deterministic, installments of 1 to 3 parts,
about 60 % of invoices paid (fully or partly) with their allocations, so every page has
realistic work to do. Refuses to run on a database that already holds customers unless
--reset is given.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--reset", action="store_true", help="Delete the existing ledger first.")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from core import access
    from customers.models import Contact, Customer
    from receivables.models import Allocation, Installment, Invoice, Payment
    from receivables.plans import PlanKind, build_plan

    call_command("migrate", verbosity=0)
    if Customer.objects.exists():
        if not args.reset:
            sys.exit("This database already has customers: pass --reset to replace them.")
        with transaction.atomic():
            for model in (Allocation, Payment, Installment, Invoice, Contact, Customer):
                model.objects.all().delete()

    started = time.perf_counter()
    rng = random.Random(42)
    today = timezone.localdate()
    users = {}
    for name, role in (("finance", access.FINANCE), ("manager", access.MANAGER)):
        users[name], _ = User.objects.get_or_create(username=name)
        users[name].set_password("demo1234")
        users[name].save()
        users[name].groups.add(Group.objects.get_or_create(name=role)[0])
    reps = []
    for i in range(20):
        rep, _ = User.objects.get_or_create(username=f"rep{i:02d}")
        rep.set_password("demo1234")
        rep.save()
        rep.groups.add(Group.objects.get_or_create(name=access.SALES)[0])
        reps.append(rep)

    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    customer_ref=f"411L{i:06d}",
                    name=f"Client charge {i:06d} SARL",
                    city="Lyon",
                    postal_code="69002",
                    sales_rep=reps[i % len(reps)],
                    credit_limit=Decimal(rng.choice([5000, 20000, 100000])),
                )
                for i in range(args.customers)
            ],
            batch_size=2000,
        )
        Contact.objects.bulk_create(
            [
                Contact(customer=c, name="Compta", email=f"compta{c.pk}@example.com")
                for c in customers
            ],
            batch_size=2000,
        )
        invoices, plans = [], []
        for n in range(args.invoices):
            customer = customers[n % len(customers)]
            issue = today - datetime.timedelta(days=rng.randint(0, 420))
            amount = Decimal(rng.randint(5_000, 2_000_000)) / 100
            kind = rng.choice(
                [PlanKind.SINGLE] * 6 + [PlanKind.HALVES, PlanKind.THIRTY_THIRTY_FORTY]
            )
            invoices.append(
                Invoice(
                    number=f"L{n:08d}",
                    customer=customer,
                    issue_date=issue,
                    due_date=issue + datetime.timedelta(days=30),
                    amount=amount,
                )
            )
            plans.append(
                build_plan(total=amount, first_due=issue + datetime.timedelta(days=30), kind=kind)
            )
        Invoice.objects.bulk_create(invoices, batch_size=5000)
        installments = [
            Installment(invoice=inv, sequence=k, due_date=part.due_date, amount=part.amount)
            for inv, parts in zip(invoices, plans, strict=True)
            for k, part in enumerate(parts, start=1)
        ]
        Installment.objects.bulk_create(installments, batch_size=5000)
        payments, allocations = [], []
        for inst in installments:
            pay_day = inst.due_date + datetime.timedelta(days=rng.randint(-10, 90))
            if pay_day >= today or rng.random() < 0.3:
                continue
            paid = (
                inst.amount if rng.random() < 0.85 else (inst.amount / 2).quantize(Decimal("0.01"))
            )
            if paid <= 0:
                continue
            payment = Payment(
                customer_id=inst.invoice.customer_id,
                date=pay_day,
                amount=paid,
                allocated_amount=paid,
            )
            payments.append(payment)
            allocations.append(Allocation(installment=inst, amount=paid, date=pay_day))
            inst.paid_amount = paid
        Payment.objects.bulk_create(payments, batch_size=5000)
        for alloc, payment in zip(allocations, payments, strict=True):
            alloc.payment = payment
        Allocation.objects.bulk_create(allocations, batch_size=5000)
        Installment.objects.bulk_update(
            [i for i in installments if i.paid_amount], ["paid_amount"], batch_size=5000
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics, as autovacuum would later
            cursor.execute("ANALYZE")
    # A ledger in use for a year has its monthly snapshots, taken by the schedule.
    from receivables.snapshots import snapshot_take_month_end

    first_of_month = today.replace(day=1)
    for _ in range(12):
        snapshot_take_month_end(today=first_of_month)
        first_of_month = (first_of_month - datetime.timedelta(days=1)).replace(day=1)
    print(
        f"{len(customers)} customers, {len(invoices)} invoices, {len(installments)} installments, "
        f"{len(payments)} payments in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
