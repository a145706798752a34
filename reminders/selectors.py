"""Reads of the reminders app: the preview of the coming runs and the worklist."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from customers import access
from reminders import engine
from reminders.models import Reminder, ReminderQuerySet


@dataclass
class PreviewDay:
    day: datetime.date
    business_day: bool
    plans: list[engine.CustomerPlan]

    @property
    def email_count(self) -> int:
        return sum(1 for p in self.plans if p.emails)


@dataclass
class Preview:
    days: list[PreviewDay]
    recipients: dict[int, engine.Recipients]


def reminders_preview(*, user, start: datetime.date, days: int = 7) -> Preview:
    """Simulate the next ``days`` daily runs from ``start`` for the customers ``user`` may
    see, assuming each planned send happens (and what is in flight today completes):
    the same planner as the real run, on an in-memory snapshot; nothing is written."""
    scenarios = engine.load_scenarios()
    last = start + datetime.timedelta(days=days - 1)
    state = engine.load_state(
        last_day=last, scenarios=scenarios, customer_q=access.scope_q(user, "invoice__customer")
    )
    engine.settle_pending(state, start - datetime.timedelta(days=1))
    result: list[PreviewDay] = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        plans = engine.plan_day(state, day, scenarios)
        # Snapshot the lists before the state moves on to the next day.
        result.append(PreviewDay(day=day, business_day=engine.is_business_day(day), plans=plans))
        engine.apply_plans(plans, day)
    customer_ids = {p.customer.id for d in result for p in d.plans if p.emails}
    recipients = engine.load_recipients(customer_ids)
    for preview_day in result:
        for plan in preview_day.plans:
            plan.recipients = recipients[plan.customer.id]
    return Preview(days=result, recipients=recipients)


def reminder_worklist(*, user) -> ReminderQuerySet:
    """What needs a person: tasks, letters awaiting approval, failed and unknown sends."""
    return (
        Reminder.objects.visible_to(user)
        .worklist()
        .select_related("customer", "step")
        .order_by("run_date", "pk")
    )
