"""The snapshot the planner works on: every remindable installment with its last step,
and its customer, loaded in a fixed number of queries whatever the ledger's size."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery

from customers.models import Customer
from receivables.models import Dispute, Installment, PromiseToPay
from reminders.models import (
    CompanyProfile,
    Reminder,
    ReminderItem,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from reminders.run.plan import Scenarios, Step

Status = Reminder.Status


def company_profile() -> CompanyProfile:
    """The company profile, without creating it (a dry run writes nothing)."""
    return CompanyProfile.objects.order_by("pk").first() or CompanyProfile()


@dataclass
class InstallmentState:
    id: int
    customer_id: int
    invoice_id: int
    invoice_number: str
    currency: str
    sequence: int
    issue_date: datetime.date
    due_date: datetime.date
    amount_left: Decimal
    promised_until: datetime.date | None = None
    last_step: Step | None = None
    # The day the last step was actually taken; None while it is still pending (an email
    # not sent yet, a letter awaiting approval): the next step waits for it.
    last_done_on: datetime.date | None = None

    @property
    def last_pending(self) -> bool:
        return self.last_step is not None and self.last_done_on is None

    def days_late(self, day: datetime.date) -> int:
        return (day - self.due_date).days


@dataclass
class CustomerState:
    id: int
    name: str
    customer_ref: str
    language: str
    scenario_id: int | None
    paused_until: datetime.date | None
    email_in_flight: bool = False
    # An open call task already on the worklist: a new step-3 email adds no second one.
    open_phone_task: bool = False
    emailed_on: set[datetime.date] = field(default_factory=set)
    installments: list[InstallmentState] = field(default_factory=list)


@dataclass
class State:
    customers: dict[int, CustomerState]
    grace_days: int


def reminder_base_installments(customer_q: Q | None = None) -> QuerySet[Installment]:
    """Open installments that may be reminded at all, whatever the day: of a counting
    invoice, not fully paid, of a customer neither exempt nor paying by direct debit, and
    with no open dispute on the invoice. Pauses and promises depend on the day and are
    checked by :func:`plan_day`."""
    qs = (
        Installment.objects.open()
        .filter(invoice__customer__reminders_exempt=False, invoice__customer__direct_debit=False)
        .exclude(Exists(Dispute.objects.open().filter(invoice=OuterRef("invoice"))))
    )
    if customer_q is not None:
        qs = qs.filter(customer_q)
    return qs


class PromiseDates(TypedDict):
    promise_named: datetime.date | None
    promise_all: datetime.date | None


def with_promise_dates(
    installments: QuerySet[Installment],
) -> QuerySet[WithAnnotations[Installment, PromiseDates]]:
    """Annotate the latest pending promise date covering each installment: by a promise
    naming its invoice (``promise_named``), or by one naming no invoice, which covers all
    the customer's invoices (``promise_all``)."""
    named = PromiseToPay.objects.pending().filter(invoices=OuterRef("invoice"))
    blanket = PromiseToPay.objects.pending().filter(
        customer=OuterRef("invoice__customer"), invoices__isnull=True
    )
    return installments.annotate(
        promise_named=Subquery(named.order_by("-promised_date").values("promised_date")[:1]),
        promise_all=Subquery(blanket.order_by("-promised_date").values("promised_date")[:1]),
    )


def done_on(channel: str, status: str, attempted_on, run_date) -> datetime.date | None:
    """The day a step was actually taken, or None while it is pending."""
    if status == Status.SENT:
        return attempted_on or run_date
    if channel in (Reminder.Channel.PHONE, Reminder.Channel.COLLECTION):
        return run_date  # a task is "taken" the day it lands on the worklist
    return None


def load_state(
    *,
    last_day: datetime.date,
    scenarios: Scenarios,
    customer_q: Q | None = None,
    grace_days: int | None = None,
) -> State:
    """Snapshot everything the planner needs up to ``last_day``, in four queries
    whatever the ledger's size: installments (with promise dates), their live reminder
    items, the customers, and the customers' recent emails."""
    if grace_days is None:
        grace_days = company_profile().promise_grace_days
    base = reminder_base_installments(customer_q).filter(
        invoice__issue_date__lte=last_day,
        due_date__lte=last_day - datetime.timedelta(days=scenarios.min_offset),
    )
    rows = with_promise_dates(base).values(
        "pk",
        "invoice_id",
        "invoice__number",
        "invoice__currency",
        "invoice__customer_id",
        "invoice__issue_date",
        "sequence",
        "due_date",
        "amount",
        "paid_amount",
        "promise_named",
        "promise_all",
    )
    grace = datetime.timedelta(days=grace_days)
    installments: dict[int, InstallmentState] = {}
    for r in rows.order_by("due_date", "invoice__number", "sequence"):
        promised = max((d for d in (r["promise_named"], r["promise_all"]) if d), default=None)
        installments[r["pk"]] = InstallmentState(
            id=r["pk"],
            customer_id=r["invoice__customer_id"],
            invoice_id=r["invoice_id"],
            invoice_number=r["invoice__number"],
            currency=r["invoice__currency"],
            sequence=r["sequence"],
            issue_date=r["invoice__issue_date"],
            due_date=r["due_date"],
            amount_left=r["amount"] - r["paid_amount"],
            promised_until=promised + grace if promised else None,
        )
    # Joins rather than IN (subquery): the planner handles them well at any size.
    items = ReminderItem.objects.filter(
        active=True, installment__paid_amount__lt=F("installment__amount")
    ).values_list(
        "installment_id",
        "step_id",
        "reminder__channel",
        "reminder__status",
        "reminder__attempted_on",
        "reminder__run_date",
    )
    for inst_id, step_id, channel, status, attempted_on, run_date in items:
        inst = installments.get(inst_id)
        step = scenarios.by_id.get(step_id)
        if inst is None or step is None:
            continue
        if inst.last_step is None or step.position > inst.last_step.position:
            inst.last_step = step
            inst.last_done_on = done_on(channel, status, attempted_on, run_date)
    customers: dict[int, CustomerState] = {}
    customer_rows = (
        Customer.objects.filter(pk__in=sorted({i.customer_id for i in installments.values()}))
        .annotate(
            in_flight=Exists(Reminder.objects.in_flight().filter(customer=OuterRef("pk"))),
            open_phone_task=Exists(
                Reminder.objects.filter(
                    customer=OuterRef("pk"), channel=Reminder.Channel.PHONE, status=Status.TODO
                )
            ),
        )
        .values(
            "pk",
            "name",
            "customer_ref",
            "language",
            "scenario_id",
            "reminders_paused_until",
            "in_flight",
            "open_phone_task",
        )
    )
    for c in customer_rows:
        customers[c["pk"]] = CustomerState(
            id=c["pk"],
            name=c["name"],
            customer_ref=c["customer_ref"],
            language=c["language"],
            scenario_id=scenarios.effective(c["scenario_id"]),
            paused_until=c["reminders_paused_until"],
            email_in_flight=c["in_flight"],
            open_phone_task=c["open_phone_task"],
        )
    recent = (
        Reminder.objects.emails()
        .exclude(status=Status.CANCELLED)
        .filter(
            Q(run_date__gte=last_day - datetime.timedelta(days=1))
            | Q(attempted_on__gte=last_day - datetime.timedelta(days=1))
        )
        .values_list("customer_id", "run_date", "attempted_on", "status")
    )
    for customer_id, run_date, attempted_on, status in recent:
        if customer_id in customers:
            # A sent email counts on the day it left; an unsent one on its planned day.
            day = attempted_on if status == Status.SENT and attempted_on else run_date
            customers[customer_id].emailed_on.add(day)
    for inst in installments.values():
        if inst.customer_id in customers:
            customers[inst.customer_id].installments.append(inst)
    return State(customers=customers, grace_days=grace_days)
