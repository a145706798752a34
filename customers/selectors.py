"""Reads of customers for the pages: the customer list and the customer page.

Every function starts from ``Customer.objects.visible_to(user)`` (or takes a customer the
caller fetched that way), and builds its rows with joins, prefetches and database
aggregates, so the number of queries never depends on the number of rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from customers.models import Activity, Contact, Customer
from receivables.models import Allocation, Dispute, Installment, Payment
from receivables.selectors import with_balances

# Sort keys accepted from the query string, mapped to an ORDER BY (ties broken by name
# then reference so that pagination is stable).
CUSTOMER_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "customer_ref"),
    "-name": ("-name", "-customer_ref"),
    "balance": ("total", "name", "customer_ref"),
    "-balance": ("-total", "name", "customer_ref"),
    "overdue": ("overdue", "name", "customer_ref"),
    "-overdue": ("-overdue", "name", "customer_ref"),
}
DEFAULT_CUSTOMER_SORT = "name"
RECENT_PAYMENTS = 20
TIMELINE_LENGTH = 50


def customer_list(
    *,
    user,
    as_of: datetime.date,
    search: str = "",
    overdue_only: bool = False,
    sort: str = DEFAULT_CUSTOMER_SORT,
) -> QuerySet[Customer]:
    """The customers ``user`` may see, with their balances as of ``as_of`` (``total``,
    ``overdue``, ``credit`` and the aged buckets), searched on name or reference."""
    qs = Customer.objects.visible_to(user).select_related("sales_rep")
    search = search.strip()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(customer_ref__icontains=search))
    qs = with_balances(qs, as_of)
    if overdue_only:
        qs = qs.filter(overdue__gt=0)
    return qs.order_by(*CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS[DEFAULT_CUSTOMER_SORT]))


def customer_for_page(customers: QuerySet[Customer], *, as_of: datetime.date) -> QuerySet[Customer]:
    """``customers`` (already ``visible_to`` the user) ready for a customer page's
    ``get_object_or_404``: sales rep and scenario joined, balances as of ``as_of``."""
    return with_balances(customers.select_related("sales_rep", "scenario"), as_of)


@dataclass(frozen=True)
class CustomerPage:
    customer: Customer
    contacts: list[Contact]
    open_installments: list[Installment]
    payments: list[Payment]
    activities: list[Activity]
    as_of: datetime.date

    @property
    def open_left(self) -> Decimal:
        return sum((i.amount_left for i in self.open_installments), Decimal("0.00"))


def customer_page(*, customer: Customer, as_of: datetime.date) -> CustomerPage:
    """Everything the customer page shows besides the customer itself, in a fixed number
    of queries. ``customer`` must come from :func:`customer_for_page`."""
    parts = (
        Installment.objects.filter(invoice=OuterRef("invoice"))
        .order_by()
        .values("invoice")
        .annotate(n=Count("pk"))
        .values("n")
    )
    installments = list(
        Installment.objects.open()
        .filter(invoice__customer=customer)
        .select_related("invoice")
        .annotate(
            parts=Coalesce(Subquery(parts[:1]), 1),
            disputed=Exists(Dispute.objects.open().filter(invoice=OuterRef("invoice"))),
            left=F("amount") - F("paid_amount"),
        )
        .order_by("due_date", "invoice__number", "sequence")
    )
    for inst in installments:
        # Days late is a date difference; computing it here keeps the SQL portable.
        inst.late_days = inst.days_late(as_of)
    payments = list(
        Payment.objects.filter(customer=customer)
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=Allocation.objects.select_related("installment__invoice").order_by(
                    "installment__due_date", "pk"
                ),
            )
        )
        .order_by("-date", "-pk")[:RECENT_PAYMENTS]
    )
    activities = list(
        Activity.objects.filter(customer=customer)
        .select_related("author")
        .order_by("-occurred_at", "-pk")[:TIMELINE_LENGTH]
    )
    contacts = list(Contact.objects.filter(customer=customer).order_by("reminder_role", "name"))
    return CustomerPage(
        customer=customer,
        contacts=contacts,
        open_installments=installments,
        payments=payments,
        activities=activities,
        as_of=as_of,
    )


def sales_rep_choices(*, user) -> QuerySet:
    """The users who are the sales rep of at least one customer ``user`` may see: the
    choices of a "sales rep" filter (a sales rep only ever sees themself)."""
    visible = Customer.objects.visible_to(user).filter(sales_rep=OuterRef("pk"))
    return (
        get_user_model()
        .objects.filter(Exists(visible))
        .order_by("last_name", "first_name", "username")
    )
