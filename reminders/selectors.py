"""Reads of the reminders app: the preview of the coming runs and the worklist."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When

from core import access
from core.access import AnyUser
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


def reminders_preview(*, user: AnyUser, start: datetime.date, days: int = 7) -> Preview:
    """Simulate the next ``days`` daily runs from ``start`` for the customers ``user`` may
    see, assuming each planned send happens (and what is in flight today completes):
    the same planner as the real run, on an in-memory snapshot; nothing is written."""
    scenarios = planner.load_scenarios()
    last = start + datetime.timedelta(days=days - 1)
    state = load_state(
        first_day=start,
        last_day=last,
        scenarios=scenarios,
        customer_q=access.scope_q(user, "invoice__customer"),
    )
    planner.settle_pending(state, start - datetime.timedelta(days=1))
    result: list[PreviewDay] = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        plans = planner.plan_day(state, day, scenarios)
        # Snapshot the lists before the state moves on to the next day.
        result.append(PreviewDay(day=day, business_day=planner.is_business_day(day), plans=plans))
        planner.apply_plans(plans, day)
    customer_ids = {p.customer.id for d in result for p in d.plans if p.emails}
    recipients = load_recipients(customer_ids)
    for preview_day in result:
        for plan in preview_day.plans:
            plan.recipients = recipients[plan.customer.id]
    return Preview(days=result, recipients=recipients)


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
