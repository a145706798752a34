"""Reads of the ledger: balances, the aged balance ("balance âgée"), invoice lists.

Everything is computed by the database: the aged balance is one query over customers
with correlated aggregate subqueries, whatever the number of invoices.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

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


def _scalar_sum(qs: QuerySet, group: str, expression) -> Coalesce:
    """A correlated subquery summing ``expression`` over ``qs`` (already filtered on
    OuterRef), as one scalar value."""
    summed = (
        qs.order_by()
        .values(group)
        .annotate(s=Sum(expression, output_field=MONEY_FIELD))
        .values("s")
    )
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
        .annotate(
            left=ExpressionWrapper(
                F("amount") - _scalar_sum(allocated, "installment", "amount"),
                output_field=MONEY_FIELD,
            )
        )
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
    allocated = _scalar_sum(
        Allocation.objects.filter(
            installment__invoice__customer=OuterRef("pk"),
            installment__invoice__issue_date__lte=as_of,
            installment__invoice__cancelled_at__isnull=True,
            installment__invoice__kind=Invoice.Kind.INVOICE,
            date__lte=as_of,
        ),
        "installment__invoice__customer",
        "amount",
    )
    money = {"output_field": MONEY_FIELD}
    return (
        customers.annotate(**{f"_{k}": v for k, v in buckets.items()})
        .annotate(credit=ExpressionWrapper(paid + credited - allocated, **money))
        .annotate(
            not_due=ExpressionWrapper(F("_not_due") - F("credit"), **money),
            d1_30=F("_d1_30"),
            d31_60=F("_d31_60"),
            d61_90=F("_d61_90"),
            d90_plus=F("_d90_plus"),
        )
        .annotate(
            overdue=ExpressionWrapper(
                F("d1_30") + F("d31_60") + F("d61_90") + F("d90_plus"), **money
            ),
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
        | {k: to_cents(getattr(c, k)) for k in (*BUCKETS, "total")}
        for c in aged_balance_rows(customers, as_of).only("pk", "customer_ref", "name")
    ]
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
