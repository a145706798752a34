"""The snapshot the planner works on: every installment in the reminder scope with its
last step and the days it may be reminded, and its customer, loaded in a fixed number of
queries whatever the ledger's size. Whether an installment may be reminded on a day is
decided by the ledger's one rule (``Installment.objects.remindable``), evaluated by the
database for each day the snapshot covers."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet

from core.money import MoneyField
from customers.models import Customer
from receivables.models import CompanyProfile, Installment, reminder_free_on
from reminders.models import (
    Reminder,
    ReminderItem,
)

if TYPE_CHECKING:
    from reminders.run.plan import Scenarios, Step

Status = Reminder.Status

# Rows fetched per round trip while the snapshot is streamed in.
LOAD_CHUNK = 5000


@dataclass(slots=True)
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
    # The days of the snapshot on which it may be reminded (not on hold: paused, promised,
    # not issued yet). "Send now" ignores them.
    remindable_on: frozenset[datetime.date] = frozenset()
    last_step: Step | None = None
    # The day the last step was actually taken; None while it is still pending (an email
    # not sent yet, a letter awaiting approval): the next step waits for it.
    last_done_on: datetime.date | None = None

    @property
    def last_pending(self) -> bool:
        return self.last_step is not None and self.last_done_on is None

    def days_late(self, day: datetime.date) -> int:
        return (day - self.due_date).days


@dataclass(slots=True)
class CustomerState:
    id: int
    name: str
    customer_ref: str
    language: str
    scenario_id: int | None
    email_in_flight: bool = False
    # An open call task already on the worklist: a new step-3 email adds no second one.
    open_phone_task: bool = False
    emailed_on: set[datetime.date] = field(default_factory=set)
    # A formal notice awaiting approval, or approved and not posted yet: no second one,
    # and no email meanwhile (it claims everything overdue when it is approved).
    notice_in_progress: bool = False
    # The customer's current level: the highest step reached by a live notice (one in
    # progress, or posted and still claiming an open installment). No email of the run
    # is milder than the last email step before it.
    level: Step | None = None
    installments: list[InstallmentState] = field(default_factory=list)


@dataclass
class State:
    customers: dict[int, CustomerState]


def stream(rows: QuerySet) -> Iterator[tuple]:
    """The tuples of a ``values_list`` query, fetched in chunks. On PostgreSQL they come
    straight from a server-side cursor: psycopg already gives dates, Decimals and
    booleans, so Django's per-row converters (a third of the snapshot's time) are
    skipped; elsewhere (SQLite) Django's own iterator converts them."""
    query = rows.query
    columns = [*query.extra_select, *query.values_select, *query.annotation_select]
    if connection.vendor != "postgresql" or columns != list(getattr(rows, "_fields", None) or ()):
        yield from rows.iterator(chunk_size=LOAD_CHUNK)
        return
    try:
        sql, params = query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:  # a filter that can match nothing (a user who sees no customer)
        return
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(LOAD_CHUNK):
            yield from chunk


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
    first_day: datetime.date | None = None,
    grace_days: int | None = None,
) -> State:
    """Snapshot everything the planner needs for the days ``first_day`` (default
    ``last_day``) to ``last_day``, in six queries whatever the ledger's size: the
    company's grace period, the installments in the reminder scope (with the days each may
    be reminded), their live reminder items, the customers, the customers' recent
    emails and the live formal notices."""
    if grace_days is None:
        grace_days = CompanyProfile.get().promise_grace_days
    days = [
        (first_day or last_day) + datetime.timedelta(days=n)
        for n in range((last_day - (first_day or last_day)).days + 1)
    ]
    base = Installment.objects.in_reminder_scope().filter(
        invoice__issue_date__lte=last_day,
        due_date__lte=last_day - datetime.timedelta(days=scenarios.min_offset),
    )
    if customer_q is not None:
        base = base.filter(customer_q)
    free_on = {
        f"free_{n}": ExpressionWrapper(
            reminder_free_on(day, grace_days=grace_days), output_field=BooleanField()
        )
        for n, day in enumerate(days)
    }
    # Tuples streamed in chunks (a server-side cursor on PostgreSQL), never a list of
    # dicts of the whole ledger; the amount left is computed by the database.
    rows = (
        base.annotate(
            left=ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MoneyField()),
            **free_on,
        )
        .order_by("due_date", "invoice__number", "sequence")
        .values_list(
            "pk",
            "invoice_id",
            "invoice__number",
            "invoice__currency",
            "invoice__customer_id",
            "invoice__issue_date",
            "sequence",
            "due_date",
            "left",
            *free_on,
        )
    )
    # The days an installment may be reminded: one shared frozenset per combination.
    day_sets: dict[tuple[bool, ...], frozenset[datetime.date]] = {}
    installments: dict[int, InstallmentState] = {}
    for (
        pk,
        invoice_id,
        number,
        currency,
        customer_id,
        issued,
        sequence,
        due,
        left,
        *free,
    ) in stream(rows):
        flags = tuple(free)
        remindable_on = day_sets.get(flags)
        if remindable_on is None:
            remindable_on = day_sets[flags] = frozenset(
                day for day, flag in zip(days, flags, strict=True) if flag
            )
        installments[pk] = InstallmentState(
            id=pk,
            customer_id=customer_id,
            invoice_id=invoice_id,
            invoice_number=number,
            currency=currency,
            sequence=sequence,
            issue_date=issued,
            due_date=due,
            amount_left=left,
            remindable_on=remindable_on,
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
            "reminder_scenario__scenario_id",
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
            scenario_id=scenarios.effective(c["reminder_scenario__scenario_id"]),
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
    load_notices(customers, scenarios)
    return State(customers=customers)


def load_notices(customers: dict[int, CustomerState], scenarios: Scenarios) -> None:
    """Each customer's notice in progress and current level, in one query: the live
    notices (in progress, or posted and still claiming an open installment). Letters are
    few, so all of them are read and matched in Python."""
    live = Reminder.objects.filter(channel=Reminder.Channel.LETTER).filter(
        Q(status__in=[Status.AWAITING_APPROVAL, Status.SENDING])
        | Q(
            status=Status.SENT,
            pk__in=ReminderItem.objects.filter(
                active=True, installment__paid_amount__lt=F("installment__amount")
            ).values("reminder_id"),
        )
    )
    for customer_id, status, step_id in live.values_list("customer_id", "status", "step_id"):
        customer = customers.get(customer_id)
        step = scenarios.by_id.get(step_id)
        if customer is None:
            continue
        if status != Status.SENT:
            customer.notice_in_progress = True
        if step is not None and (customer.level is None or step.position > customer.level.position):
            customer.level = step
