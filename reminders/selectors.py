"""Reads of the reminders app: the preview of the coming runs and the worklist."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When

from core import access
from core.access import AnyUser
from core.money import ZERO
from customers.models import Contact
from reminders.emails import Recipients, load_recipients
from reminders.models import Reminder, ReminderQuerySet
from reminders.run import plan as planner
from reminders.run.state import load_state


@dataclass
class PreviewDay:
    day: datetime.date
    business_day: bool
    plans: list[planner.CustomerPlan]


@dataclass
class Preview:
    days: list[PreviewDay]
    recipients: dict[int, Recipients]


def _simulate(
    *, user: AnyUser, start: datetime.date, days: int, customer_id: int | None = None
) -> Iterator[PreviewDay]:
    """The next ``days`` daily runs from ``start`` for the customers ``user`` may see (or
    only ``customer_id``, if visible), day by day, assuming each planned send happens (and
    what is in flight today completes): the same planner as the real run, on an
    in-memory snapshot; nothing is written. A day's plans are yielded before the snapshot
    moves on to the next day. Customers are planned independently of each other, so one
    customer's days are the same alone as among all."""
    scenarios = planner.load_scenarios()
    customer_q = access.scope_q(user, "invoice__customer")
    if customer_id is not None:
        customer_q &= Q(invoice__customer_id=customer_id)
    state = load_state(
        first_day=start,
        last_day=start + datetime.timedelta(days=days - 1),
        scenarios=scenarios,
        customer_q=customer_q,
    )
    planner.settle_pending(state, start - datetime.timedelta(days=1))
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        plans = planner.plan_day(state, day, scenarios)
        yield PreviewDay(day=day, business_day=planner.is_business_day(day), plans=plans)
        planner.apply_plans(plans, day)


def reminders_preview(
    *, user: AnyUser, start: datetime.date, days: int = 7, customer_id: int | None = None
) -> Preview:
    """Every plan of the next ``days`` runs (see :func:`_simulate`), with the recipients
    of the emails: for one customer's detail, or a small ledger."""
    result = list(_simulate(user=user, start=start, days=days, customer_id=customer_id))
    customer_ids = {p.customer.id for d in result for p in d.plans if p.emails}
    recipients = load_recipients(customer_ids)
    for preview_day in result:
        for plan in preview_day.plans:
            plan.recipients = recipients[plan.customer.id]
    return Preview(days=result, recipients=recipients)


@dataclass
class StepCount:
    """What one day's run does at one step: how many customers (emails, letters or
    tasks), installments, and their amounts left by currency."""

    action: str
    step: planner.Step
    customers: int = 0
    installments: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, items: list[planner.PlannedItem]) -> None:
        self.customers += 1
        self.installments += len(items)
        for item in items:
            inst = item.installment
            self.amounts[inst.currency] = self.amounts.get(inst.currency, ZERO) + inst.amount_left


@dataclass(frozen=True)
class PreviewLine:
    """One customer's action on the day listed: at most three per customer (its email,
    its letter, its tasks)."""

    customer_id: int
    name: str
    customer_ref: str
    action: str
    step: planner.Step
    installments: int
    amount: Decimal
    currency: str


@dataclass
class DaySummary:
    day: datetime.date
    business_day: bool
    counts: list[StepCount]

    @property
    def customers(self) -> int:
        """Customers reached that day (a customer with an email and a task counts once
        per action)."""
        return sum(c.customers for c in self.counts)


@dataclass
class PreviewSummary:
    days: list[DaySummary]
    # The day whose customers are listed, and its lines (sorted by name).
    listed_day: datetime.date | None
    lines: list[PreviewLine]


def _actions(plan: planner.CustomerPlan) -> Iterator[tuple[str, planner.Step, list]]:
    """A plan's actions as the run would write them: one email in the tone of its highest
    step, the letters at their highest step, one task per step."""
    if plan.emails and plan.email_step is not None:
        yield planner.Action.EMAIL, plan.email_step, plan.emails
    if plan.letters:
        yield (
            planner.Action.LETTER,
            max((i.step for i in plan.letters), key=_position),
            plan.letters,
        )
    tasks: dict[int, list[planner.PlannedItem]] = {}
    for item in plan.tasks:
        tasks.setdefault(item.step.id, []).append(item)
    for group in tasks.values():
        yield group[0].step.action, group[0].step, group


def _position(step: planner.Step) -> int:
    return step.position


def reminders_preview_summary(
    *, user: AnyUser, start: datetime.date, days: int = 7, list_day: datetime.date | None = None
) -> PreviewSummary:
    """The next ``days`` runs in figures: per day and step, the customers, installments
    and amounts; and the customers of ``list_day`` (default: the first day with
    anything), one line per action. A fixed number of queries whatever the ledger's size;
    each day's plans are counted and dropped before the next day is planned."""
    summary = PreviewSummary(days=[], listed_day=None, lines=[])
    for preview_day in _simulate(user=user, start=start, days=days):
        counts: dict[tuple[str, int], StepCount] = {}
        listing = summary.listed_day is None and (
            list_day == preview_day.day or (list_day is None and preview_day.plans)
        )
        for plan in preview_day.plans:
            for action, step, items in _actions(plan):
                key = (action, step.id)
                if key not in counts:
                    counts[key] = StepCount(action=action, step=step)
                counts[key].add(items)
                if listing:
                    summary.lines.append(_line(plan, action, step, items))
        if listing:
            summary.listed_day = preview_day.day
        summary.days.append(
            DaySummary(
                day=preview_day.day,
                business_day=preview_day.business_day,
                counts=sorted(counts.values(), key=lambda c: (c.step.position, c.action)),
            )
        )
    summary.lines.sort(
        key=lambda line: (line.name.casefold(), line.customer_id, line.step.position)
    )
    return summary


def _line(plan: planner.CustomerPlan, action: str, step: planner.Step, items: list) -> PreviewLine:
    return PreviewLine(
        customer_id=plan.customer.id,
        name=plan.customer.name,
        customer_ref=plan.customer.customer_ref,
        action=action,
        step=step,
        installments=len(items),
        amount=sum((i.installment.amount_left for i in items), ZERO),
        currency=items[0].installment.currency,
    )


# --- the finance worklist, section by section ----------------------------------------
#
# Each function returns a QuerySet (scoped by ``visible_to``, related rows joined) so the
# dashboard can show the first few rows and count them, and a "see all" page can paginate
# the very same rows: a fixed number of queries whatever the number of items.

Status = Reminder.Status
Channel = Reminder.Channel


def with_phones(rows: QuerySet, path: str = "customer") -> QuerySet:
    """Prefetch the customer's contacts that have a phone number (as ``phones`` on the
    customer) for click-to-call links: one query for the whole list."""
    return rows.prefetch_related(
        Prefetch(
            f"{path}__contacts",
            queryset=Contact.objects.exclude(phone="").order_by("reminder_role", "name"),
            to_attr="phones",
        )
    )


def _worklist_rows(user: AnyUser) -> ReminderQuerySet:
    return Reminder.objects.visible_to(user).select_related("customer", "step")


def phone_tasks(*, user: AnyUser) -> ReminderQuerySet:
    """Calls the scenario asked for (a step with "also create a phone task"), oldest
    first: a task stays here until someone logs the call or postpones it."""
    return (
        _worklist_rows(user)
        .filter(channel=Channel.PHONE, status=Status.TODO)
        .order_by("run_date", "pk")
    )


def collection_tasks(*, user: AnyUser) -> ReminderQuerySet:
    """Files the scenario says to hand to collection, oldest first."""
    return (
        _worklist_rows(user)
        .filter(channel=Channel.COLLECTION, status=Status.TODO)
        .order_by("run_date", "pk")
    )


def letters_to_approve(*, user: AnyUser) -> ReminderQuerySet:
    """Formal notices waiting for a person's approval, oldest first."""
    return (
        _worklist_rows(user)
        .filter(channel=Channel.LETTER, status=Status.AWAITING_APPROVAL)
        .order_by("run_date", "pk")
    )


def sends_to_check(*, user: AnyUser) -> ReminderQuerySet:
    """Sends that need a person: failed ones (the daily run retries them, but someone may
    want to retry now or give up) and "unknown" ones (interrupted mid-send: only a person
    can tell, from the Message-ID, whether they left). Unknown first: they block the
    customer's next email."""
    unknown_first = Case(When(status=Status.UNKNOWN, then=Value(0)), default=Value(1))
    return (
        _worklist_rows(user)
        .filter(status__in=[Status.FAILED, Status.UNKNOWN])
        .order_by(unknown_first, "run_date", "pk")
    )


def sent_since(*, user: AnyUser, since: datetime.datetime) -> ReminderQuerySet:
    """Reminders that left since ``since`` (emails and posted letters), newest first."""
    return (
        _worklist_rows(user)
        .filter(status=Status.SENT, sent_at__gte=since)
        .order_by("-sent_at", "-pk")
    )


def worklist_counts(*, user: AnyUser, since: datetime.datetime) -> dict[str, int]:
    """The size of every reminder-based worklist section, in one query of conditional
    counts (the dashboard's badges)."""
    return Reminder.objects.visible_to(user).aggregate(
        tasks=Count("pk", filter=Q(channel=Channel.PHONE, status=Status.TODO)),
        collection=Count("pk", filter=Q(channel=Channel.COLLECTION, status=Status.TODO)),
        letters=Count("pk", filter=Q(channel=Channel.LETTER, status=Status.AWAITING_APPROVAL)),
        sends=Count("pk", filter=Q(status__in=[Status.FAILED, Status.UNKNOWN])),
        sent=Count("pk", filter=Q(status=Status.SENT, sent_at__gte=since)),
    )


def customer_reminder_log(*, customer) -> ReminderQuerySet:
    """The customer's reminder log, newest first: every reminder row with its step and
    the people involved (the proof file for a legal follow-up)."""
    return (
        Reminder.objects.filter(customer=customer)
        .select_related("step", "actor", "approved_by", "done_by")
        .order_by("-run_date", "-pk")
    )
