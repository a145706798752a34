"""The planner's snapshot (run/state.py) on a generated ledger: streamed straight from the
database, it holds what the ledger's own rules give row by row, and the dry run plans
exactly what the benchmark's hand-written SQL selects."""

import datetime

import pytest
from django.db.models import F

from benchmarks import floors
from benchmarks.data import generate
from benchmarks.paths import planned_first_steps, run_day
from receivables.models import Installment
from reminders import services
from reminders.models import ReminderItem
from reminders.run import plan as planner
from reminders.run.state import done_on, load_state, stream

pytestmark = pytest.mark.django_db


def reference_snapshot(scenarios, first_day, last_day):
    """The snapshot's installments the slow, obvious way: model instances, and one query
    per day of the ledger's rule ``Installment.objects.remindable``."""
    days = [first_day + datetime.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    scope = Installment.objects.in_reminder_scope().filter(
        invoice__issue_date__lte=last_day,
        due_date__lte=last_day - datetime.timedelta(days=scenarios.min_offset),
    )
    free = {day: set(Installment.objects.remindable(on=day).values_list("pk", flat=True))
            for day in days}  # fmt: skip
    out = {}
    for inst in scope.select_related("invoice").order_by("due_date", "invoice__number", "sequence"):
        out[inst.pk] = {
            "customer": inst.invoice.customer_id,
            "number": inst.invoice.number,
            "currency": inst.invoice.currency,
            "issued": inst.invoice.issue_date,
            "due": inst.due_date,
            "sequence": inst.sequence,
            "left": inst.amount - inst.paid_amount,
            "free": frozenset(day for day in days if inst.pk in free[day]),
            "last": None,
            "done": None,
        }
    items = ReminderItem.objects.filter(
        active=True, installment__paid_amount__lt=F("installment__amount")
    ).select_related("reminder")
    for item in items:
        row = out.get(item.installment_id)
        step = scenarios.by_id[item.step_id]
        if row is not None and (row["last"] is None or step.position > row["last"].position):
            r = item.reminder
            row["last"] = step
            row["done"] = done_on(r.channel, r.status, r.attempted_on, r.run_date)
    return out


def as_rows(state):
    return {
        i.id: {
            "customer": i.customer_id,
            "number": i.invoice_number,
            "currency": i.currency,
            "issued": i.issue_date,
            "due": i.due_date,
            "sequence": i.sequence,
            "left": i.amount_left,
            "free": i.remindable_on,
            "last": i.last_step,
            "done": i.last_done_on,
        }
        for c in state.customers.values()
        for i in c.installments
    }


def test_snapshot_and_dry_run_on_a_generated_ledger(clock, mailoutbox):
    generate(invoices=400, customers=40)
    day = run_day(clock.today)
    scenarios = planner.load_scenarios()
    # Nothing reminded yet: the dry run plans the hand-written SQL's first steps.
    assert planned_first_steps(services.reminders_dry_run(run_date=day)) == (
        floors.due_for_first_step(day)
    )
    # A run ten days ago, then the snapshot of a week, as the preview takes it.
    services.reminders_run(run_date=run_day(day - datetime.timedelta(days=10)))
    assert ReminderItem.objects.exists()
    start, last = day, day + datetime.timedelta(days=6)
    state = load_state(first_day=start, last_day=last, scenarios=scenarios)
    got, expected = as_rows(state), reference_snapshot(scenarios, start, last)
    assert len(got) > 100 and got == expected
    # Each customer's installments in the order of the reference, amounts to the cent.
    for customer in state.customers.values():
        ids = [i.id for i in customer.installments]
        assert ids == [pk for pk in expected if expected[pk]["customer"] == customer.id]
    assert {str(v["left"]) for v in got.values()} == {str(v["left"]) for v in expected.values()}


def test_stream_gives_what_django_gives(clock):
    generate(invoices=200, customers=20)
    rows = (
        Installment.objects.annotate(left=F("amount") - F("paid_amount"))
        .order_by("pk")
        .values_list("pk", "due_date", "invoice__number", "left")
    )
    streamed = list(stream(rows))
    assert len(streamed) > 200
    assert streamed == list(rows.iterator())
    assert [tuple(map(type, r)) for r in streamed] == [tuple(map(type, r)) for r in rows]


def test_items_are_copied_and_a_step_taken_twice_is_refused(company_profile, mailoutbox):
    from decimal import Decimal

    from django.db import IntegrityError, transaction

    from reminders.run.claim import insert_items
    from tests.factories import make_invoice, make_reminder_customer

    customer = make_reminder_customer("CPY")
    make_invoice(
        customer, issue_date=datetime.date(2026, 9, 1), due_date=datetime.date(2026, 10, 1)
    )
    services.reminders_run(run_date=datetime.date(2026, 11, 18))
    item = ReminderItem.objects.select_related("installment").get()
    assert (item.amount_left, item.days_late, item.active) == (Decimal("1000.00"), 48, True)
    assert item.reminder.customer_id == customer.pk and item.step.position == 1
    # The same step again: the database refuses it, as Django's IntegrityError.
    again = (item.reminder_id, item.installment_id, item.step_id, Decimal("1.00"), 3)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_items([again])
    assert ReminderItem.objects.count() == 1
    # Once the first is no longer live, the step may be taken again.
    ReminderItem.objects.update(active=False)
    insert_items([again])
    copied = ReminderItem.objects.get(active=True)
    assert (copied.amount_left, copied.days_late, copied.step_id) == (
        Decimal("1.00"),
        3,
        item.step_id,
    )


def test_stream_of_a_query_that_can_match_nothing_is_empty():
    rows = Installment.objects.filter(pk__in=[]).values_list("pk", "due_date")
    assert list(stream(rows)) == []
