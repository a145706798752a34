"""Reads for the customer pages: the customer list (with balances) and the customer page
(balances, payment behaviour, timeline, reminder log).

Every function starts from ``Customer.objects.visible_to(user)`` (or takes a customer the
caller fetched that way), and builds its rows with joins, prefetches and database
aggregates, so the number of queries never depends on the number of rows.
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.access import AnyUser
from core.money import MONEY_FIELD, ZERO, to_cents
from customers.models import Activity, Contact, Customer, PortalAccess
from receivables import kpis
from receivables.models import (
    Allocation,
    CustomerRequest,
    Dispute,
    Installment,
    Payment,
    PaymentClaim,
    PromiseToPay,
)
from receivables.selectors import with_balances
from reminders.models import Reminder
from reminders.selectors import customer_reminder_log

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
TIMELINE_PAGE = 25
TIMELINE_MAX_PAGES = 20  # 500 entries: older history is in the admin and the recovery file
REMINDER_LOG_PAGE = 20
PORTAL_RECENT = 5  # what a customer said from their page, on the customer page
# Timeline entries written as echoes of a record the timeline shows itself (a sent email,
# a letter, a dispute, a promise): the record is richer (status, amounts, who), so the
# echo is left out rather than shown twice.
ECHO_KINDS = (
    Activity.Kind.EMAIL,
    Activity.Kind.LETTER,
    Activity.Kind.DISPUTE,
    Activity.Kind.PROMISE,
)


def customer_list(
    *,
    user: AnyUser,
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
    rows = with_balances(qs, as_of)
    if overdue_only:
        rows = rows.filter(overdue__gt=Decimal(0))
    return rows.order_by(*CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS[DEFAULT_CUSTOMER_SORT]))


def customer_list_page(
    *,
    user: AnyUser,
    as_of: datetime.date,
    page_number: str | int | None,
    page_size: int,
    search: str = "",
    overdue_only: bool = False,
    sort: str = DEFAULT_CUSTOMER_SORT,
) -> Page:
    """One page of :func:`customer_list`. Sorted by name with no balance filter, the page
    is chosen first and only its customers' balances are computed (the cost no longer
    grows with the ledger); sorted or filtered on balances, the database ranks them all."""
    if overdue_only or sort not in ("name", "-name"):
        customers = customer_list(
            user=user, as_of=as_of, search=search, overdue_only=overdue_only, sort=sort
        )
        return Paginator(customers, page_size).get_page(page_number)
    base = Customer.objects.visible_to(user)
    search = search.strip()
    if search:
        base = base.filter(Q(name__icontains=search) | Q(customer_ref__icontains=search))
    page = Paginator(base.order_by(*CUSTOMER_SORTS[sort]).only("pk"), page_size).get_page(
        page_number
    )
    ids = [c.pk for c in page.object_list]
    annotated = customer_list(user=user, as_of=as_of, sort=sort).filter(pk__in=ids)
    page.object_list = list(annotated)
    return page


def customer_for_page(customers: QuerySet[Customer], *, as_of: datetime.date) -> QuerySet[Customer]:
    """``customers`` (already ``visible_to`` the user) ready for a customer page's
    ``get_object_or_404``: sales rep and scenario joined, balances as of ``as_of``."""
    return with_balances(
        customers.select_related("sales_rep", "reminder_scenario__scenario"), as_of
    )


@dataclass(frozen=True)
class PaymentBehaviour:
    """How a customer paid over the 12 months ending on ``as_of`` (the manager page's
    measure, receivables.kpis, for one customer)."""

    as_of: datetime.date
    since: datetime.date
    paid: Decimal
    average_days_late: Decimal | None
    on_time_share: Decimal | None

    @property
    def on_time_percent(self) -> Decimal | None:
        share = self.on_time_share
        return None if share is None else (share * 100).quantize(Decimal("1"))

    @property
    def late_payer(self) -> bool:
        """Pays later than ``kpis.LATE_PAYER_DAYS`` on average (unknown: no)."""
        return kpis.is_late_payer(self.average_days_late)


def payment_behaviour(*, customer: Customer, as_of: datetime.date) -> PaymentBehaviour:
    """Average days late weighted by amount and share paid on time, over the payments
    allocated in the 12 months ending on ``as_of``: days late is the allocation's date
    minus the installment's due date, an early payment counting 0; credit notes are not
    payments. One aggregate query, on the same allocations as the manager's KPI."""
    sums = (
        kpis.payment_allocations(as_of)
        .filter(installment__invoice__customer=customer)
        .aggregate(
            paid=Sum("amount", output_field=MONEY_FIELD),
            weighted=Sum(kpis.weighted_lateness(), output_field=kpis.WEIGHT_FIELD),
            on_time=Sum("amount", filter=Q(days_late__lte=0), output_field=MONEY_FIELD),
        )
    )
    paid = to_cents(sums["paid"])
    weighted = to_cents(sums["weighted"])
    return PaymentBehaviour(
        as_of=as_of,
        since=as_of - relativedelta(months=kpis.BEHAVIOUR_MONTHS) + datetime.timedelta(days=1),
        paid=paid,
        average_days_late=kpis.ratio(weighted, paid, kpis.TENTH),
        on_time_share=kpis.ratio(to_cents(sums["on_time"]), paid),
    )


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the customer's timeline: ``kind`` says which template block draws it
    ("activity", "payment", "reminder", "dispute_opened", "dispute_resolved",
    "promise") and ``obj`` is the row."""

    when: datetime.datetime
    kind: str
    obj: Any


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    page: int
    has_more: bool

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_more and self.page < TIMELINE_MAX_PAGES else None


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _entries(kind: str, rows: Iterable[Any], when) -> Iterator[TimelineEntry]:
    for row in rows:
        yield TimelineEntry(when=when(row), kind=kind, obj=row)


def customer_timeline(
    *, customer: Customer, page: int = 1, per_page: int = TIMELINE_PAGE
) -> Timeline:
    """The customer's history newest first: the journal (calls, notes, pauses...),
    payments, reminders (emails, letters, tasks, whatever their status), disputes
    (opened, resolved) and promises to pay, merged by date.

    Each source is read already sorted and cut at what the requested page needs, then
    merged: six queries for any page, whatever the length of the history. The journal's
    echoes of those records (``ECHO_KINDS``) are left out so nothing shows twice."""
    page = max(1, min(page, TIMELINE_MAX_PAGES))
    need = page * per_page + 1
    activities = (
        Activity.objects.filter(customer=customer)
        .exclude(kind__in=ECHO_KINDS)
        .select_related("author")
        .order_by("-occurred_at", "-pk")[:need]
    )
    payments = Payment.objects.filter(customer=customer).order_by("-date", "-pk")[:need]
    reminder_when = Coalesce("sent_at", "done_at", "approved_at", "created_at")
    reminders = (
        Reminder.objects.filter(customer=customer)
        .select_related("step", "actor", "approved_by", "done_by")
        .annotate(when=reminder_when)
        .order_by("-when", "-pk")[:need]
    )
    disputes = Dispute.objects.filter(invoice__customer=customer).select_related(
        "invoice", "opened_by", "resolved_by"
    )
    opened = disputes.order_by("-opened_at", "-pk")[:need]
    resolved = disputes.filter(resolved_at__isnull=False).order_by("-resolved_at", "-pk")[:need]
    promises = (
        PromiseToPay.objects.filter(customer=customer)
        .select_related("recorded_by")
        .prefetch_related("invoices")
        .order_by("-created_at", "-pk")[:need]
    )
    merged = heapq.merge(
        _entries("activity", activities, lambda a: a.occurred_at),
        _entries("payment", payments, lambda p: _day_start(p.date)),
        _entries("reminder", reminders, lambda r: r.when),
        _entries("dispute_opened", opened, lambda d: d.opened_at),
        _entries("dispute_resolved", resolved, lambda d: d.resolved_at),
        _entries("promise", promises, lambda p: p.created_at),
        key=lambda e: e.when,
        reverse=True,
    )
    entries = list(merged)
    start = (page - 1) * per_page
    return Timeline(
        entries=entries[start : start + per_page],
        page=page,
        has_more=len(entries) > start + per_page,
    )


def reminder_log_page(*, customer: Customer, page: Any = 1) -> Page:
    """One page of the customer's reminder log (steps, dates, channel, status)."""
    return Paginator(customer_reminder_log(customer=customer), REMINDER_LOG_PAGE).get_page(page)


@dataclass(frozen=True)
class CustomerPage:
    customer: Customer
    contacts: list[Contact]
    open_installments: list[Installment]
    payments: list[Payment]
    activities: list[Activity]
    as_of: datetime.date
    behaviour: PaymentBehaviour | None = None
    timeline: Timeline | None = None
    reminder_log: Page | None = None
    # The customer's page (the portal): its access, and what the customer said there.
    portal_access: PortalAccess | None = None
    payment_claims: list[PaymentClaim] = field(default_factory=list)
    requests: list[CustomerRequest] = field(default_factory=list)

    @property
    def open_left(self) -> Decimal:
        return sum((i.amount_left for i in self.open_installments), ZERO)

    @property
    def reminders_paused(self) -> bool:
        """A pause of the reminders is in force on the page's day."""
        return self.customer.reminders_paused_on(self.as_of)

    @property
    def over_credit_limit(self) -> bool:
        return self.customer.exceeds_credit_limit(self.customer.total)  # type: ignore[attr-defined]

    @property
    def over_insured_cover(self) -> bool:
        return self.customer.exceeds_insured_cover(self.customer.total)  # type: ignore[attr-defined]


def customer_page(
    *, customer: Customer, as_of: datetime.date, timeline_page: int = 1, log_page: Any = 1
) -> CustomerPage:
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
    contacts = list(Contact.objects.filter(customer=customer).order_by("reminder_role", "name"))
    timeline = customer_timeline(customer=customer, page=timeline_page)
    return CustomerPage(
        customer=customer,
        contacts=contacts,
        open_installments=installments,
        payments=payments,
        activities=[e.obj for e in timeline.entries if e.kind == "activity"],
        as_of=as_of,
        behaviour=payment_behaviour(customer=customer, as_of=as_of),
        timeline=timeline,
        reminder_log=reminder_log_page(customer=customer, page=log_page),
        portal_access=PortalAccess.objects.filter(customer=customer).first(),
        payment_claims=list(
            PaymentClaim.objects.filter(customer=customer)
            .prefetch_related("invoices")
            .order_by("-created_at")[:PORTAL_RECENT]
        ),
        requests=list(
            CustomerRequest.objects.filter(customer=customer)
            .select_related("invoice")
            .order_by("-created_at")[:PORTAL_RECENT]
        ),
    )
