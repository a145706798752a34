"""Reads of the ledger: balances, the aged balance ("balance âgée"), invoice lists.

Everything is computed by the database: the aged balance is one query over customers
with correlated aggregate subqueries, whatever the number of invoices.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from receivables.models import ZERO, Allocation, Dispute, Installment, Invoice, Payment

CENT = Decimal("0.01")
MONEY_FIELD = DecimalField(max_digits=16, decimal_places=2)
BUCKETS: tuple[str, ...] = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")
COLUMNS: tuple[str, ...] = ("customer_ref", "customer_name", *BUCKETS, "total")


def to_cents(value) -> Decimal:
    """Quantize a database sum to the cent (SQLite sums decimals as floats)."""
    return Decimal(value or 0).quantize(CENT)


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


def _scalar_sum(qs: QuerySet, group: str, expression) -> Coalesce:
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


def with_balances(
    customers: QuerySet[Customer], as_of: datetime.date, *, today: datetime.date | None = None
) -> QuerySet[Customer]:
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
    money = {"output_field": MONEY_FIELD, "default": ZERO}
    past = as_of < today
    unpaid = F(f"{inst}amount") if past else F(f"{inst}amount") - F(f"{inst}paid_amount")
    buckets: dict[str, Any] = {
        f"_{name}": Sum(unpaid, filter=counting & cond, **money)
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
            name: _scalar_sum(allocations.filter(cond), "installment__invoice__customer", "amount")
            for name, cond in bucket_ranges(as_of, "installment__").items()
        }
        allocated = sum(allocated_by_bucket.values(), Value(ZERO))
    else:
        allocated = Sum(F(f"{inst}paid_amount"), filter=counting, **money)
    paid = _scalar_sum(
        Payment.objects.filter(customer=OuterRef("pk"), date__lte=as_of), "customer", "amount"
    )
    credited = _scalar_sum(
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


@dataclass(frozen=True)
class AgedBalance:
    as_of: datetime.date
    rows: list[dict]
    totals: dict[str, Decimal]


def _scope_sql(user, params: dict[str, Any]) -> str:
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


def customers_over_credit_limit(*, user) -> list[int]:
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
        scope = _scope_sql(user, params)
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_OVER_LIMIT_SQL.format(scope=scope), params)
        return [row[0] for row in cursor.fetchall()]


_CURRENT_BALANCE_SQL = """
SELECT c.id, c.customer_ref, c.name,
       COALESCE(b.not_due, 0), COALESCE(b.d1_30, 0), COALESCE(b.d31_60, 0),
       COALESCE(b.d61_90, 0), COALESCE(b.d90_plus, 0),
       COALESCE(p.credit, 0) + COALESCE(n.credit, 0) + COALESCE(f.paid, 0)
FROM customers_customer c
LEFT JOIN (
    SELECT v.customer_id,
           SUM(CASE WHEN i.due_date >= %(as_of)s THEN i.amount - i.paid_amount ELSE 0 END)
               AS not_due,
           SUM(CASE WHEN i.due_date BETWEEN %(d30)s AND %(d1)s
                    THEN i.amount - i.paid_amount ELSE 0 END) AS d1_30,
           SUM(CASE WHEN i.due_date BETWEEN %(d60)s AND %(d31)s
                    THEN i.amount - i.paid_amount ELSE 0 END) AS d31_60,
           SUM(CASE WHEN i.due_date BETWEEN %(d90)s AND %(d61)s
                    THEN i.amount - i.paid_amount ELSE 0 END) AS d61_90,
           SUM(CASE WHEN i.due_date <= %(d91)s THEN i.amount - i.paid_amount ELSE 0 END)
               AS d90_plus
    FROM receivables_installment i
    JOIN receivables_invoice v ON v.id = i.invoice_id
    WHERE i.paid_amount < i.amount
      AND v.cancelled_at IS NULL AND v.kind = %(invoice)s AND v.issue_date <= %(as_of)s
    GROUP BY v.customer_id
) b ON b.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, SUM(amount - allocated_amount) AS credit FROM receivables_payment
    WHERE allocated_amount < amount AND date <= %(as_of)s GROUP BY customer_id
) p ON p.customer_id = c.id
LEFT JOIN (
    SELECT n.customer_id, SUM(n.amount - COALESCE(a.used, 0)) AS credit
    FROM receivables_invoice n
    LEFT JOIN (
        SELECT credit_note_id, SUM(amount) AS used FROM receivables_allocation
        WHERE credit_note_id IS NOT NULL GROUP BY credit_note_id
    ) a ON a.credit_note_id = n.id
    WHERE n.kind = %(credit_note)s AND n.cancelled_at IS NULL AND n.issue_date <= %(as_of)s
    GROUP BY n.customer_id
) n ON n.customer_id = c.id
LEFT JOIN (
    SELECT v.customer_id, SUM(i.paid_amount) AS paid
    FROM receivables_installment i
    JOIN receivables_invoice v ON v.id = i.invoice_id
    WHERE i.paid_amount > 0 AND v.issue_date > %(as_of)s
      AND v.cancelled_at IS NULL AND v.kind = %(invoice)s
    GROUP BY v.customer_id
) f ON f.customer_id = c.id
WHERE (b.customer_id IS NOT NULL OR p.customer_id IS NOT NULL OR n.customer_id IS NOT NULL
       OR f.customer_id IS NOT NULL)
  {scope}
ORDER BY c.customer_ref
"""


_AGED_BALANCE_SQL = """
SELECT c.id, c.customer_ref, c.name,
       COALESCE(b.not_due, 0), COALESCE(b.d1_30, 0), COALESCE(b.d31_60, 0),
       COALESCE(b.d61_90, 0), COALESCE(b.d90_plus, 0),
       COALESCE(p.paid, 0) + COALESCE(n.credited, 0) - COALESCE(b.allocated, 0)
FROM customers_customer c
LEFT JOIN (
    SELECT v.customer_id,
           SUM(CASE WHEN i.due_date >= %(as_of)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS not_due,
           SUM(CASE WHEN i.due_date BETWEEN %(d30)s AND %(d1)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d1_30,
           SUM(CASE WHEN i.due_date BETWEEN %(d60)s AND %(d31)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d31_60,
           SUM(CASE WHEN i.due_date BETWEEN %(d90)s AND %(d61)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d61_90,
           SUM(CASE WHEN i.due_date <= %(d91)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d90_plus,
           SUM(COALESCE(a.s, 0)) AS allocated
    FROM receivables_installment i
    JOIN receivables_invoice v ON v.id = i.invoice_id
    LEFT JOIN (
        SELECT installment_id, SUM(amount) AS s FROM receivables_allocation
        WHERE date <= %(as_of)s GROUP BY installment_id
    ) a ON a.installment_id = i.id
    WHERE v.cancelled_at IS NULL AND v.kind = %(invoice)s AND v.issue_date <= %(as_of)s
    GROUP BY v.customer_id
) b ON b.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, SUM(amount) AS paid FROM receivables_payment
    WHERE date <= %(as_of)s GROUP BY customer_id
) p ON p.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, SUM(amount) AS credited FROM receivables_invoice
    WHERE kind = %(credit_note)s AND cancelled_at IS NULL AND issue_date <= %(as_of)s
    GROUP BY customer_id
) n ON n.customer_id = c.id
WHERE (b.customer_id IS NOT NULL OR p.customer_id IS NOT NULL OR n.customer_id IS NOT NULL)
  {scope}
ORDER BY c.customer_ref
"""


def aged_balance(*, user, as_of: datetime.date, today: datetime.date | None = None) -> AgedBalance:
    """The aged balance of the customers ``user`` may see, as of ``as_of``; ``user``
    None means the whole ledger (command-line use, monthly snapshots).

    One SQL statement of grouped derived tables (installments with what had been
    allocated to them by that date, payments, credit notes), joined to the customers:
    the database reads each table once, whatever the date, instead of evaluating
    correlated subqueries per customer. Written in SQL that PostgreSQL and SQLite share.

    On or after today nothing is dated later (payments and credit notes are never dated
    in the future), so the open installments' ``amount - paid_amount`` and the credits'
    unallocated parts, kept by the allocation services, give the same figures while the
    database reads only the open items instead of the whole history.
    """
    d = datetime.timedelta
    params: dict[str, Any] = {
        "as_of": as_of,
        "d1": as_of - d(1),
        "d30": as_of - d(30),
        "d31": as_of - d(31),
        "d60": as_of - d(60),
        "d61": as_of - d(61),
        "d90": as_of - d(90),
        "d91": as_of - d(91),
        "invoice": Invoice.Kind.INVOICE,
        "credit_note": Invoice.Kind.CREDIT_NOTE,
    }
    try:
        scope = _scope_sql(user, params)
    except EmptyResultSet:  # a user with no role sees no customer
        return AgedBalance(as_of=as_of, rows=[], totals=dict.fromkeys((*BUCKETS, "total"), ZERO))
    with connection.cursor() as cursor:
        current = as_of >= (today or timezone.localdate())
        sql = _CURRENT_BALANCE_SQL if current else _AGED_BALANCE_SQL
        cursor.execute(sql.format(scope=scope), params)
        fetched = cursor.fetchall()
    rows = []
    for pk, ref, name, *buckets, credit in fetched:
        amounts = dict(zip(BUCKETS, (to_cents(v) for v in buckets), strict=True))
        amounts["not_due"] -= to_cents(credit)
        if not any(amounts.values()):
            continue
        amounts["total"] = sum(amounts.values(), ZERO)
        rows.append({"customer_id": pk, "customer_ref": ref, "customer_name": name} | amounts)
    totals = {k: sum((r[k] for r in rows), ZERO) for k in (*BUCKETS, "total")}
    return AgedBalance(as_of=as_of, rows=rows, totals=totals)


# --- Invoice list and invoice page -------------------------------------------------------


class InvoiceStatus(TextChoices):
    """What the invoice list shows and filters on, computed by the database."""

    OPEN = "open", _("Open")
    OVERDUE = "overdue", _("Overdue")
    DISPUTED = "disputed", _("Disputed")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")
    CREDIT_NOTE = "credit_note", _("Credit note")


@dataclass(frozen=True)
class InvoiceFilters:
    """The invoice list's filters, already parsed and validated by the view."""

    status: str = ""
    search: str = ""
    sales_rep_id: int | None = None
    due_from: datetime.date | None = None
    due_to: datetime.date | None = None


def with_invoice_status(invoices: QuerySet[Invoice], as_of: datetime.date) -> QuerySet[Invoice]:
    """Annotate invoices with ``left`` (what is still unpaid over their installments),
    ``disputed`` (an open dispute exists) and ``status`` (an :class:`InvoiceStatus`) as
    of ``as_of``, as subqueries: one query whatever the number of invoices."""
    installments = Installment.objects.filter(invoice=OuterRef("pk"))
    left = _scalar_sum(installments, "invoice", F("amount") - F("paid_amount"))
    overdue = installments.filter(paid_amount__lt=F("amount"), due_date__lt=as_of)
    return invoices.annotate(
        left=left,
        disputed=Exists(Dispute.objects.open().filter(invoice=OuterRef("pk"))),
        has_overdue=Exists(overdue),
    ).annotate(
        status=Case(
            When(cancelled_at__isnull=False, then=Value(InvoiceStatus.CANCELLED.value)),
            When(kind=Invoice.Kind.CREDIT_NOTE, then=Value(InvoiceStatus.CREDIT_NOTE.value)),
            When(left__lte=0, then=Value(InvoiceStatus.PAID.value)),
            When(disputed=True, then=Value(InvoiceStatus.DISPUTED.value)),
            When(has_overdue=True, then=Value(InvoiceStatus.OVERDUE.value)),
            default=Value(InvoiceStatus.OPEN.value),
            output_field=CharField(),
        )
    )


def invoice_list(*, user, filters: InvoiceFilters, as_of: datetime.date) -> QuerySet[Invoice]:
    """The invoices and credit notes ``user`` may see, with ``left`` and ``status``
    (see :func:`with_invoice_status`), filtered, newest first."""
    qs = with_invoice_status(
        Invoice.objects.visible_to(user).select_related("customer", "customer__sales_rep"), as_of
    )
    if filters.search.strip():
        term = filters.search.strip()
        qs = qs.filter(
            Q(customer__name__icontains=term)
            | Q(customer__customer_ref__icontains=term)
            | Q(number__icontains=term)
        )
    if filters.sales_rep_id is not None:
        qs = qs.filter(customer__sales_rep_id=filters.sales_rep_id)
    if filters.due_from is not None:
        qs = qs.filter(due_date__gte=filters.due_from)
    if filters.due_to is not None:
        qs = qs.filter(due_date__lte=filters.due_to)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs.order_by("-issue_date", "-number")


def invoice_for_page(invoices: QuerySet[Invoice], *, as_of: datetime.date) -> QuerySet[Invoice]:
    """``invoices`` (already ``visible_to`` the user) ready for an invoice page's
    ``get_object_or_404``: customer joined, ``left`` and ``status`` annotated."""
    return with_invoice_status(
        invoices.select_related("customer", "customer__sales_rep", "credited_invoice"), as_of
    )


@dataclass(frozen=True)
class InvoicePage:
    invoice: Invoice
    installments: list[Installment]
    disputes: list[Dispute]
    credit_notes: list[Invoice]
    allocations_made: list[Allocation]


def invoice_page(*, invoice: Invoice, as_of: datetime.date) -> InvoicePage:
    """The installments (with their allocations), disputes and credit notes of an
    invoice from :func:`invoice_for_page`, in a fixed number of queries."""
    installments = list(
        Installment.objects.filter(invoice=invoice)
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=Allocation.objects.select_related("payment", "credit_note").order_by(
                    "date", "pk"
                ),
            )
        )
        .order_by("sequence")
    )
    for inst in installments:
        inst.late_days = inst.days_late(as_of) if inst.amount_left > 0 else None
    disputes = list(
        Dispute.objects.filter(invoice=invoice)
        .select_related("opened_by", "resolved_by")
        .order_by("-opened_at")
    )
    credit_notes = list(invoice.credit_notes.order_by("issue_date", "number"))
    allocations_made = list(
        invoice.allocations_made.select_related("installment__invoice").order_by("date", "pk")
    )
    return InvoicePage(
        invoice=invoice,
        installments=installments,
        disputes=disputes,
        credit_notes=credit_notes,
        allocations_made=allocations_made,
    )
