"""The run survives any one bad row: a customer whose data cannot be planned is skipped,
reported in the run's result and on the finance worklist, and never stops the others;
the 7-day preview and "Send now" keep working for everyone. The rows here are the ones
found by the fault tests of issue #12 (entered before the bounds, or by hand in the
database): a promise dated 9999-12-29, an invoice due in 1900, a promise of 0.01 € dated
2099."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from customers.models import Activity
from receivables import bounds
from receivables.models import Installment, Invoice, PromiseToPay
from reminders import selectors, services
from reminders.models import Reminder, ReminderItem
from reminders.run import plan as planner
from tests.factories import make_invoice, make_reminder_customer
from workplaces.selectors.dashboard import follow_ups

D = datetime.date
DAY = D(2026, 4, 2)  # Thursday: step 1 of invoices due 1 April
DUE = D(2026, 4, 1)

pytestmark = pytest.mark.django_db


def _owing(ref, due=DUE):
    customer = make_reminder_customer(ref)
    invoice = make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)
    return customer, invoice


def _due_in(invoice, day):
    """An invoice imported (or edited in the database) with an implausible due date."""
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=day, due_date=day)
    Installment.objects.filter(invoice=invoice).update(due_date=day)


@pytest.fixture
def book(company_profile):
    good, _ = _owing("GOOD")
    promised, _ = _owing("PROM")
    PromiseToPay.objects.create(
        customer=promised, promised_date=D(9999, 12, 29), amount=Decimal("0.01")
    )
    ancient, invoice = _owing("OLD")
    _due_in(invoice, D(1900, 1, 1))
    far, invoice = _owing("FAR")
    _due_in(invoice, D(9999, 12, 31))
    return {"good": good, "promised": promised, "ancient": ancient, "far": far}


def test_the_run_sends_to_the_others_and_reports_the_bad_rows(book, finance_user, client):
    mail.outbox = []
    result = services.reminders_run(run_date=DAY)
    # The good customer is reminded; the promised one is held (the promise is pending).
    assert [m.to for m in mail.outbox] == [["good@client.example"]]
    assert result.sent == 1
    skipped = {s.customer_id: s.reason for s in result.skipped}
    assert set(skipped) == {book["ancient"].pk}  # 9999 is not due yet: nothing to plan
    assert "1900-01-01" in skipped[book["ancient"].pk]
    # On the worklist (follow-ups due today), once however many runs report it.
    services.reminders_run(run_date=D(2026, 4, 3))
    notes = Activity.objects.filter(customer=book["ancient"], outcome="unplannable")
    assert notes.count() == 1 and "1900-01-01" in notes.get().body
    assert notes.get() in follow_ups(user=finance_user, today=D(2026, 4, 3))
    # The dry run, the preview (for everyone, from any day) and the task answer too.
    dry = services.reminders_dry_run(run_date=DAY)
    assert {s.customer_id for s in dry.skipped} == {book["ancient"].pk}
    for start in (DAY, D(2026, 11, 18), D(2099, 1, 1)):
        selectors.reminders_preview(user=finance_user, start=start)
    client.force_login(finance_user)
    assert client.get(reverse("reminders:preview")).status_code == 200


def test_one_customer_whose_plan_breaks_never_stops_the_others(book, monkeypatch):
    real = planner.plan_customer

    def broken(customer, *args, **kwargs):
        if customer.id == book["good"].pk:
            raise OverflowError("date value out of range")
        return real(customer, *args, **kwargs)

    _owing("OTHER")
    monkeypatch.setattr(planner, "plan_customer", broken)
    mail.outbox = []
    result = services.reminders_run(run_date=DAY)
    assert [m.to for m in mail.outbox] == [["other@client.example"]]
    reasons = {s.customer_id: s.reason for s in result.skipped}
    assert "OverflowError: date value out of range" in reasons[book["good"].pk]
    assert Activity.objects.filter(customer=book["good"], outcome="unplannable").exists()


def test_an_email_that_cannot_be_written_skips_its_customer_only(book, monkeypatch):
    from reminders import emails

    real = emails.render_email

    def broken(*, plan, **kwargs):
        if plan.customer.id == book["good"].pk:
            raise ValueError("bad template data")
        return real(plan=plan, **kwargs)

    _owing("OTHER")
    monkeypatch.setattr(emails, "render_email", broken)
    mail.outbox = []
    result = services.reminders_run(run_date=DAY)
    assert [m.to for m in mail.outbox] == [["other@client.example"]]
    assert "bad template data" in {s.customer_id: s.reason for s in result.skipped}[book["good"].pk]
    assert not Reminder.objects.filter(customer=book["good"]).exists()


def test_send_now_works_for_a_row_far_in_the_past(book, finance_user):
    """A person may still remind it (days late no longer overflows a small integer)."""
    services.reminder_send_now(
        customer=book["ancient"], user=finance_user, today=DAY, confirmed=True
    )
    item = ReminderItem.objects.get(reminder__customer=book["ancient"])
    assert item.days_late == (DAY - D(1900, 1, 1)).days > 32767


@pytest.mark.calendar
def test_a_promise_recorded_before_the_bounds_does_not_hold_for_ever(company_profile, clock):
    """0.01 € promised for 2099: the ledger's rule lets a promise hold at most
    RELANCE_PROMISE_MAX_DAYS (+ grace) after it was recorded; the run then settles it."""
    customer, _ = _owing("P2099", due=clock.today - datetime.timedelta(days=16))
    PromiseToPay.objects.create(
        customer=customer, promised_date=D(2099, 1, 1), amount=Decimal("0.01")
    )
    grace = company_profile.promise_grace_days
    last_held = clock.today + datetime.timedelta(days=bounds.promise_max_days() + grace)
    held = PromiseToPay.objects.holding_on(last_held, grace_days=grace)
    assert held.filter(customer=customer).exists()
    after = last_held + datetime.timedelta(days=1)
    assert not PromiseToPay.objects.holding_on(after, grace_days=grace).exists()
    while not planner.is_business_day(after):
        after += datetime.timedelta(days=1)
    mail.outbox = []
    services.reminders_run(run_date=after)
    assert PromiseToPay.objects.get(customer=customer).status == "broken"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("day", "plausible"),
    [
        (D(1, 1, 1), False),
        (D(1900, 1, 1), False),
        (D(1998, 12, 31), False),
        (bounds.EARLIEST_DAY, True),
        (D(2026, 11, 18), True),
        (D(2028, 11, 17), True),
        (D(2028, 11, 19), False),
        (D(9999, 12, 31), False),
    ],
)
def test_the_window_of_plausible_due_dates(day, plausible):
    assert bounds.plausible_due_date(day, today=D(2026, 11, 18)) is plausible


def test_an_invoice_before_1999_is_refused_at_entry(company_profile):
    refusals = bounds.issue_date_refusals(D(1900, 1, 1), D(1900, 2, 1))
    assert refusals and "before 1999-01-01" in refusals[0]


def test_the_command_names_the_customers_it_could_not_plan(book):
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("run_reminders", "--date", DAY.isoformat(), stdout=out, stderr=err)
    assert "1 email(s) sent" in out.getvalue()
    assert "Not planned: OLD SARL" in err.getvalue() and "1900-01-01" in err.getvalue()
