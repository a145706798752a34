"""Reads of invoices: the invoice list with its statuses, and the invoice page."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from core.access import AnyUser
from core.money import MONEY_FIELD, ZERO
from receivables.models import Allocation, Dispute, Installment, Invoice

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

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


class InvoiceStatusFields(TypedDict):
    """What :func:`with_invoice_status` adds to each invoice."""

    left: Decimal
    disputed: bool
    has_overdue: bool
    status: str


type InvoicesWithStatus = QuerySet[WithAnnotations[Invoice, InvoiceStatusFields]]


def with_invoice_status(invoices: QuerySet[Invoice], as_of: datetime.date) -> InvoicesWithStatus:
    """Annotate invoices with ``left`` (what is still unpaid over their installments),
    ``disputed`` (an open dispute exists) and ``status`` (an :class:`InvoiceStatus`) as
    of ``as_of``. ``left`` and the earliest unpaid due date are read from the stored
    :class:`receivables.models.InvoiceFigures` (kept by the services): one join, and the
    status filter needs no subquery over the installments."""
    return invoices.annotate(
        left=Coalesce(F("figures__open_amount"), Value(ZERO), output_field=MONEY_FIELD),
        disputed=Exists(Dispute.objects.open().filter(invoice=OuterRef("pk"))),
        has_overdue=ExpressionWrapper(
            Q(figures__next_due_date__lt=as_of), output_field=BooleanField()
        ),
    ).annotate(
        status=Case(
            When(cancelled_at__isnull=False, then=Value(InvoiceStatus.CANCELLED.value)),
            When(kind=Invoice.Kind.CREDIT_NOTE, then=Value(InvoiceStatus.CREDIT_NOTE.value)),
            When(left__lte=0, then=Value(InvoiceStatus.PAID.value)),
            When(disputed=True, then=Value(InvoiceStatus.DISPUTED.value)),
            When(figures__next_due_date__lt=as_of, then=Value(InvoiceStatus.OVERDUE.value)),
            default=Value(InvoiceStatus.OPEN.value),
            output_field=CharField(),
        )
    )


def invoice_list(
    *, user: AnyUser, filters: InvoiceFilters, as_of: datetime.date
) -> InvoicesWithStatus:
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
        qs = qs.filter(status_q(filters.status, as_of))
    return qs.order_by("-issue_date", "-number")


def status_q(status: str, as_of: datetime.date) -> Q:
    """The invoices of ``status`` on ``as_of``, as conditions on their columns and
    stored figures (the same precedence as :func:`with_invoice_status`'s ``status``, on a
    queryset it annotated), so that the database can use its indexes instead of
    computing every invoice's status first."""
    counting = Q(cancelled_at__isnull=True)
    invoice = counting & Q(kind=Invoice.Kind.INVOICE)
    unpaid = invoice & Q(figures__open_amount__gt=0)
    late = Q(figures__next_due_date__lt=as_of)
    return {
        InvoiceStatus.CANCELLED: Q(cancelled_at__isnull=False),
        InvoiceStatus.CREDIT_NOTE: counting & Q(kind=Invoice.Kind.CREDIT_NOTE),
        InvoiceStatus.PAID: invoice & ~Q(figures__open_amount__gt=0),
        InvoiceStatus.DISPUTED: unpaid & Q(disputed=True),
        InvoiceStatus.OVERDUE: unpaid & Q(disputed=False) & late,
        InvoiceStatus.OPEN: unpaid & Q(disputed=False) & ~late,
    }[InvoiceStatus(status)]


def invoice_for_page(invoices: QuerySet[Invoice], *, as_of: datetime.date) -> InvoicesWithStatus:
    """``invoices`` (already ``visible_to`` the user) ready for an invoice page's
    ``get_object_or_404``: customer joined, ``left`` and ``status`` annotated."""
    return with_invoice_status(
        invoices.select_related(
            "customer", "customer__sales_rep", "credited_invoice", "created_by"
        ),
        as_of,
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
        inst.late_days = inst.days_late(as_of) if inst.amount_left > 0 else None  # type: ignore[attr-defined]
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
