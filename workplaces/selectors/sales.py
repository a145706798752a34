"""Reads for the sales rep's view of their own clients: each customer with its balance,
its last reminder and the next step the daily run will take.

Scoped by ``visible_to(user)`` and built with subqueries, so the number of queries never
depends on the number of customers.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import F, OuterRef, QuerySet, Subquery

from core.access import AnyUser
from customers.models import Customer
from receivables.models import Installment
from receivables.selectors import Balances, with_balances
from reminders.models import Reminder, ReminderItem, step_label
from reminders.run import plan as planner
from reminders.run.state import done_on

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


# --- the sales rep's view ---------------------------------------------------------------


def _latest_sent(field_name: str) -> Subquery:
    return Subquery(
        Reminder.objects.filter(customer=OuterRef("pk"), status=Reminder.Status.SENT)
        .order_by("-sent_at", "-pk")
        .values(field_name)[:1]
    )


def _last_item(field_name: str) -> Subquery:
    """A field of the highest live step taken by the customer's oldest remindable
    installment (annotated as ``next_inst``)."""
    return Subquery(
        ReminderItem.objects.filter(installment_id=OuterRef("next_inst"), active=True)
        .order_by("-step__position", "-pk")
        .values(field_name)[:1]
    )


class SalesCustomerFields(Balances):
    """What :func:`sales_customers` adds to each customer, besides its balances: the
    last reminder sent, and the oldest remindable installment (``next_inst``, None when
    there is none: then so is its due date) with the last live step taken on it
    (``last_step_id``, None when there is none: then so are the other ``last_*``)."""

    assigned_scenario_id: int | None
    last_sent_step: str | None
    last_sent_step_en: str | None
    last_sent_at: datetime.datetime | None
    next_inst: int | None
    next_inst_due: datetime.date
    last_step_id: int | None
    last_channel: str
    last_status: str
    last_attempted_on: datetime.date | None
    last_run_date: datetime.date


def sales_customers(
    *, user: AnyUser, today: datetime.date, rep_id: int | None = None
) -> QuerySet[WithAnnotations[Customer, SalesCustomerFields]]:
    """The customers ``user`` may see (a sales rep: their own), riskiest first (overdue,
    then balance), with their balances, the last reminder sent (step and date) and what
    the scenario will do next for their oldest installment that may be reminded today
    (``Installment.objects.remindable``, the daily run's rule: none while the customer is
    paused, exempt or paying by direct debit): its due date, and the step and status of
    the last live reminder item on it. All subqueries of one statement; :func:`next_steps`
    turns them into the next step without a query per row. ``rep_id`` narrows the list to
    one rep's customers (for finance and managers)."""
    qs = Customer.objects.visible_to(user)
    if rep_id is not None:
        qs = qs.filter(sales_rep_id=rep_id)
    remindable = Installment.objects.remindable(on=today).filter(invoice__customer=OuterRef("pk"))
    oldest = remindable.order_by("due_date", "invoice__number", "sequence")
    return (
        with_balances(qs.select_related("sales_rep"), today)
        .annotate(
            assigned_scenario_id=F("reminder_scenario__scenario_id"),
            last_sent_step=_latest_sent("step__name"),
            last_sent_step_en=_latest_sent("step__name_en"),
            last_sent_at=_latest_sent("sent_at"),
            next_inst=Subquery(oldest.values("pk")[:1]),
            next_inst_due=Subquery(oldest.values("due_date")[:1]),
        )
        .annotate(
            last_step_id=_last_item("step_id"),
            last_channel=_last_item("reminder__channel"),
            last_status=_last_item("reminder__status"),
            last_attempted_on=_last_item("reminder__attempted_on"),
            last_run_date=_last_item("reminder__run_date"),
        )
        .order_by("-overdue", "-total", "name", "pk")
    )


def next_steps(
    customers: Iterable[WithAnnotations[Customer, SalesCustomerFields]], today: datetime.date
) -> None:
    """Set ``next_step`` (a :class:`~reminders.run.plan.NextStep` or None) on each
    customer of :func:`sales_customers`, by the daily run's own rules, and
    ``reminders_paused`` (a pause in force today): one query for the scenarios, whatever
    the number of rows."""
    scenarios = planner.load_scenarios()
    for c in customers:
        c.reminders_paused = c.reminders_paused_on(today)  # type: ignore[attr-defined]
        c.last_sent_step_label = step_label(  # type: ignore[attr-defined]  # the user's language
            c.last_sent_step or "", c.last_sent_step_en or ""
        )
        c.next_step = None  # type: ignore[attr-defined]  # for the template
        if c.next_inst is None:
            continue
        last = scenarios.by_id.get(c.last_step_id) if c.last_step_id else None
        c.next_step = planner.next_step_for(  # type: ignore[attr-defined]
            scenarios=scenarios,
            scenario_id=c.assigned_scenario_id,
            due_date=c.next_inst_due,
            last_step=last,
            last_done_on=(
                done_on(c.last_channel, c.last_status, c.last_attempted_on, c.last_run_date)
                if last
                else None
            ),
            today=today,
        )
