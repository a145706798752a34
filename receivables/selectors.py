"""Reads of the ledger: balances, the aged balance ("balance âgée"), invoice lists.

Everything is computed by the database: the aged balance is one query over customers
with correlated aggregate subqueries, whatever the number of invoices.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from customers.models import Customer
from receivables.models import ZERO, Allocation, Installment, Invoice, Payment

MONEY_FIELD = DecimalField(max_digits=16, decimal_places=2)
BUCKETS: tuple[str, ...] = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")
COLUMNS: tuple[str, ...] = ("customer_ref", "customer_name", *BUCKETS, "total")


def _money(value) -> Coalesce:
    return Coalesce(value, Value(ZERO), output_field=MONEY_FIELD)


def _scalar_sum(qs: QuerySet, group: str, expression) -> Coalesce:
    """A correlated subquery summing ``expression`` over ``qs`` (already filtered on
    OuterRef), as one scalar value."""
    summed = qs.order_by().values(group).annotate(s=Sum(expression, output_field=MONEY_FIELD)).values("s")
    return _money(Subquery(summed[:1], output_field=MONEY_FIELD))


def bucket_ranges(as_of: datetime.date) -> dict[str, Q]:
    """Installment due-date filters for each aged-balance column as of ``as_of``
    (days late = as_of - due date; not due holds days late <= 0)."""
    d = datetime.timedelta
    return {
        "not_due": Q(due_date__gte=as_of),
        "d1_30": Q(due_date__range=(as_of - d(30), as_of - d(1))),
        "d31_60": Q(due_date__range=(as_of - d(60), as_of - d(31))),
        "d61_90": Q(due_date__range=(as_of - d(90), as_of - d(61))),
        "d90_plus": Q(due_date__lte=as_of - d(91)),
    }


def _installments_as_of(as_of: datetime.date) -> QuerySet:
    """Installments of the invoices issued on or before ``as_of``, with what was still
    unpaid on that date (``left``): their amount less allocations dated on or before it."""
    allocated = Allocation.objects.filter(installment=OuterRef("pk"), date__lte=as_of)
    return (
        Installment.objects.counting()
        .filter(invoice__issue_date__lte=as_of)
        .annotate(left=ExpressionWrapper(F("amount") - _scalar_sum(allocated, "installment", "amount"), output_field=MONEY_FIELD))
    )


def with_balances(customers: QuerySet[Customer], as_of: datetime.date) -> QuerySet[Customer]:
    """Annotate customers with their aged balance as of ``as_of``: the five buckets,
    ``credit`` (payments and credit notes not allocated on that date, shown negative in
    ``not_due``), ``overdue`` and ``total`` (the net balance)."""
    installments = _installments_as_of(as_of).filter(invoice__customer=OuterRef("pk"))
    buckets = {
        name: _scalar_sum(installments.filter(cond), "invoice__customer", "left")
        for name, cond in bucket_ranges(as_of).items()
    }
    paid = _scalar_sum(Payment.objects.filter(customer=OuterRef("pk"), date__lte=as_of), "customer", "amount")
    credited = _scalar_sum(
        Invoice.objects.active().credit_notes().filter(customer=OuterRef("pk"), issue_date__lte=as_of),
        "customer", "amount",
    )
    allocated = _scalar_sum(
        Allocation.objects.filter(
            installment__invoice__customer=OuterRef("pk"),
            installment__invoice__issue_date__lte=as_of,
            installment__invoice__cancelled_at__isnull=True,
            installment__invoice__kind=Invoice.Kind.INVOICE,
            date__lte=as_of,
        ),
        "installment__invoice__customer", "amount",
    )
    money = {"output_field": MONEY_FIELD}
    return (
        customers.annotate(**{f"_{k}": v for k, v in buckets.items()})
        .annotate(credit=ExpressionWrapper(paid + credited - allocated, **money))
        .annotate(
            not_due=ExpressionWrapper(F("_not_due") - F("credit"), **money),
            d1_30=F("_d1_30"), d31_60=F("_d31_60"), d61_90=F("_d61_90"), d90_plus=F("_d90_plus"),
        )
        .annotate(
            overdue=ExpressionWrapper(F("d1_30") + F("d31_60") + F("d61_90") + F("d90_plus"), **money),
        )
        .annotate(total=ExpressionWrapper(F("not_due") + F("overdue"), **money))
    )


def aged_balance_rows(customers: QuerySet[Customer], as_of: datetime.date) -> QuerySet[Customer]:
    """One customer per row with a non-zero aged balance, in customer_ref order."""
    return (
        with_balances(customers, as_of)
        .exclude(Q(not_due=0) & Q(d1_30=0) & Q(d31_60=0) & Q(d61_90=0) & Q(d90_plus=0))
        .order_by("customer_ref")
    )


@dataclass(frozen=True)
class AgedBalance:
    as_of: datetime.date
    rows: list[dict]
    totals: dict[str, Decimal]


def aged_balance(*, user, as_of: datetime.date) -> AgedBalance:
    """The aged balance of the customers ``user`` may see, as of ``as_of``; ``user``
    None means the whole ledger (command-line use)."""
    customers = Customer.objects.all() if user is None else Customer.objects.visible_to(user)
    rows = [
        {"customer_id": c.pk, "customer_ref": c.customer_ref, "customer_name": c.name}
        | {k: getattr(c, k) for k in (*BUCKETS, "total")}
        for c in aged_balance_rows(customers, as_of).only("pk", "customer_ref", "name")
    ]
    totals = {k: sum((r[k] for r in rows), ZERO) for k in (*BUCKETS, "total")}
    return AgedBalance(as_of=as_of, rows=rows, totals=totals)
