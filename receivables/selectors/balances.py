"""Customer balances as the database computes them: what is open, overdue and in each
age bucket, and the credit not yet allocated, on any date; the customers over their
credit limit or insured cover."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Expression,
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
from django.utils import timezone

from core.access import AnyUser
from core.money import MONEY_FIELD, ZERO
from customers.models import Customer
from receivables.models import Allocation, Invoice, Payment

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations
BUCKETS: tuple[str, ...] = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")
COLUMNS: tuple[str, ...] = ("customer_ref", "customer_name", *BUCKETS, "total")


def _money(value) -> Coalesce:
    return Coalesce(value, Value(ZERO), output_field=MONEY_FIELD)


class _PerRowScalar(Coalesce):
    """A correlated scalar subquery that depends only on the outer row's primary key.

    Django would add such an expression to the GROUP BY of an aggregating query, which
    makes PostgreSQL evaluate it once per joined row; it is functionally dependent on the
    grouped primary key, so it needs no grouping and is evaluated once per output row."""

    def get_group_by_cols(self):
        return []


class _Ungrouped(ExpressionWrapper):
    """An expression built only from :class:`_PerRowScalar` parts: no GROUP BY term."""

    def get_group_by_cols(self):
        return []


def scalar_sum(qs: QuerySet, group: str, expression) -> Coalesce:
    """A correlated subquery summing ``expression`` over ``qs`` (already filtered on
    OuterRef), as one scalar value."""
    summed = (
        qs.order_by()
        .values(group)
        .annotate(s=Sum(expression, output_field=MONEY_FIELD))
        .values("s")
    )
    return _PerRowScalar(
        Subquery(summed[:1], output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD
    )


def bucket_ranges(as_of: datetime.date, prefix: str = "") -> dict[str, Q]:
    """Installment due-date filters for each aged-balance column as of ``as_of``
    (days late = as_of - due date; not due holds days late <= 0). ``prefix`` is the
    lookup path to the installment ("" from Installment itself)."""
    d = datetime.timedelta
    f = f"{prefix}due_date"
    return {
        "not_due": Q(**{f"{f}__gte": as_of}),
        "d1_30": Q(**{f"{f}__range": (as_of - d(30), as_of - d(1))}),
        "d31_60": Q(**{f"{f}__range": (as_of - d(60), as_of - d(31))}),
        "d61_90": Q(**{f"{f}__range": (as_of - d(90), as_of - d(61))}),
        "d90_plus": Q(**{f"{f}__lte": as_of - d(91)}),
    }


def _counting(as_of: datetime.date, prefix: str) -> Q:
    """Installments of invoices (not credit notes) issued on or before ``as_of`` and not
    cancelled, seen through the lookup path ``prefix``."""
    return Q(
        **{
            f"{prefix}cancelled_at__isnull": True,
            f"{prefix}kind": Invoice.Kind.INVOICE,
            f"{prefix}issue_date__lte": as_of,
        }
    )


class Balances(TypedDict):
    """What :func:`with_balances` adds to each customer."""

    not_due: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    credit: Decimal
    overdue: Decimal
    total: Decimal


def with_balances(
    customers: QuerySet[Customer], as_of: datetime.date, *, today: datetime.date | None = None
) -> QuerySet[WithAnnotations[Customer, Balances]]:
    """Annotate customers with their aged balance as of ``as_of``: the five buckets,
    ``credit`` (payments and credit notes not allocated on that date, shown negative in
    ``not_due``), ``overdue`` and ``total`` (the net balance).

    One pass over the customers' installments (a join grouped by customer, with
    conditional sums) plus small indexed subqueries for the credits. Payments are never
    dated in the future, so for ``as_of`` on or after today an installment's unpaid part
    is simply ``amount - paid_amount``; for a past date, the allocations dated after it
    are added back, bucket by bucket.
    """
    today = today or timezone.localdate()
    inst = "invoices__installments__"
    counting = _counting(as_of, "invoices__")
    past = as_of < today
    unpaid = F(f"{inst}amount") if past else F(f"{inst}amount") - F(f"{inst}paid_amount")
    buckets: dict[str, Any] = {
        f"_{name}": Sum(unpaid, filter=counting & cond, output_field=MONEY_FIELD, default=ZERO)
        for name, cond in bucket_ranges(as_of, inst).items()
    }
    if past:
        # What had been allocated by ``as_of`` to each bucket's installments.
        allocations = Allocation.objects.filter(
            _counting(as_of, "installment__invoice__"),
            installment__invoice__customer=OuterRef("pk"),
            date__lte=as_of,
        )
        allocated_by_bucket = {
            name: scalar_sum(allocations.filter(cond), "installment__invoice__customer", "amount")
            for name, cond in bucket_ranges(as_of, "installment__").items()
        }
        allocated: Expression = sum(allocated_by_bucket.values(), Value(ZERO))
    else:
        allocated = Sum(
            F(f"{inst}paid_amount"), filter=counting, output_field=MONEY_FIELD, default=ZERO
        )
    paid = scalar_sum(
        Payment.objects.filter(customer=OuterRef("pk"), date__lte=as_of), "customer", "amount"
    )
    credited = scalar_sum(
        Invoice.objects.active()
        .credit_notes()
        .filter(customer=OuterRef("pk"), issue_date__lte=as_of),
        "customer",
        "amount",
    )

    def ungrouped(expression) -> _Ungrouped:
        # Every balance is a function of the customer's primary key and of aggregates
        # over its own rows: nothing to add to the GROUP BY.
        return _Ungrouped(expression, output_field=MONEY_FIELD)

    qs = customers.annotate(**buckets)
    if past:
        qs = qs.annotate(
            **{
                f"_{name}": ungrouped(F(f"_{name}") - sub)
                for name, sub in allocated_by_bucket.items()
            }
        )
    return (
        qs.annotate(credit=ungrouped(paid + credited - allocated))
        .annotate(
            not_due=ungrouped(F("_not_due") - F("credit")),
            d1_30=ungrouped(F("_d1_30")),
            d31_60=ungrouped(F("_d31_60")),
            d61_90=ungrouped(F("_d61_90")),
            d90_plus=ungrouped(F("_d90_plus")),
        )
        .annotate(overdue=ungrouped(F("d1_30") + F("d31_60") + F("d61_90") + F("d90_plus")))
        .annotate(total=ungrouped(F("not_due") + F("overdue")))
    )


def scope_sql(user: AnyUser | None, params: dict[str, Any]) -> str:
    """``AND c.id IN (…)``: the customers ``user`` may see (None: the whole ledger), from
    the one place that decides it, its parameters added to ``params``. Raises
    EmptyResultSet for a user who may see no customer."""
    if user is None:
        return ""
    visible_sql, visible_params = (
        Customer.objects.visible_to(user).values("pk").query.sql_with_params()
    )
    # Django's SQL uses %s placeholders: name them for the dict-style query.
    for index, value in enumerate(visible_params):
        params[f"scope{index}"] = value
    parts = visible_sql.split("%s")
    visible_sql = parts[0] + "".join(f"%(scope{i})s{part}" for i, part in enumerate(parts[1:]))
    return f"AND c.id IN ({visible_sql})"


_OVER_LIMIT_SQL = """
SELECT c.id
FROM customers_customer c
JOIN (
    SELECT v.customer_id, SUM(i.amount - i.paid_amount) AS unpaid
    FROM receivables_installment i
    JOIN receivables_invoice v ON v.id = i.invoice_id
    WHERE i.paid_amount < i.amount AND v.cancelled_at IS NULL AND v.kind = %(invoice)s
    GROUP BY v.customer_id
) b ON b.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, SUM(amount - allocated_amount) AS credit
    FROM receivables_payment WHERE allocated_amount < amount GROUP BY customer_id
) p ON p.customer_id = c.id
LEFT JOIN (
    SELECT n.customer_id, SUM(n.amount - COALESCE(a.used, 0)) AS credit
    FROM receivables_invoice n
    LEFT JOIN (
        SELECT credit_note_id, SUM(amount) AS used FROM receivables_allocation
        WHERE credit_note_id IS NOT NULL GROUP BY credit_note_id
    ) a ON a.credit_note_id = n.id
    WHERE n.kind = %(credit_note)s AND n.cancelled_at IS NULL
    GROUP BY n.customer_id
) n ON n.customer_id = c.id
WHERE (
    (c.credit_limit IS NOT NULL
     AND b.unpaid - COALESCE(p.credit, 0) - COALESCE(n.credit, 0) > c.credit_limit)
    OR (c.insured_cover IS NOT NULL
     AND b.unpaid - COALESCE(p.credit, 0) - COALESCE(n.credit, 0) > c.insured_cover)
) {scope}
ORDER BY b.unpaid - COALESCE(p.credit, 0) - COALESCE(n.credit, 0) DESC, c.name, c.id
"""


def customers_over_credit_limit(*, user: AnyUser) -> list[int]:
    """The customers visible to ``user`` whose balance today exceeds their credit limit or
    their insured cover, largest balance first. Today's balance needs only the open
    installments and the unallocated credits (``paid_amount`` and ``allocated_amount``
    are kept by the allocation services): the database reads the open items, not the
    whole history."""
    params: dict[str, Any] = {
        "invoice": Invoice.Kind.INVOICE,
        "credit_note": Invoice.Kind.CREDIT_NOTE,
    }
    try:
        scope = scope_sql(user, params)
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_OVER_LIMIT_SQL.format(scope=scope), params)
        return [row[0] for row in cursor.fetchall()]
