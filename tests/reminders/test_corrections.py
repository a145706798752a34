"""Cancelling an invoice, with its reason: the money allocated to it becomes credit, the
reminders in progress that cover it are cancelled (sent ones stay, the proof file), the
timeline says who and why, and the aged balance of earlier days still shows it."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers import services as customer_services
from customers.models import Activity
from receivables import services as receivables_services
from receivables.models import Allocation, Invoice, Payment
from receivables.selectors import aged_balance, ledger_balances
from reminders import services
from reminders.models import Reminder, ReminderItem, ScenarioStep
from reminders.run.plan import is_business_day
from tests.factories import make_invoice, make_payment, make_reminder_customer

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]
DAY = datetime.timedelta(days=1)


@pytest.fixture
def mistyped(company_profile):
    """An invoice overdue 3 days, 300 paid, one reminder email sent and one planned."""
    today = timezone.localdate()
    customer = make_reminder_customer("COR")
    invoice = make_invoice(
        customer, issue_date=today - 33 * DAY, due_date=today - 3 * DAY, amount="750.00"
    )
    make_payment(customer, date=today - DAY, amount="300.00", invoice=invoice)
    return customer, invoice


def _planned_reminder(customer, invoice, after: Reminder) -> Reminder:
    step = ScenarioStep.objects.filter(scenario=after.step.scenario).exclude(pk=after.step_id)[0]
    planned = Reminder.objects.create(
        customer=customer,
        step=step,
        channel=Reminder.Channel.EMAIL,
        status=Reminder.Status.PLANNED,
        run_date=timezone.localdate(),
    )
    ReminderItem.objects.create(
        reminder=planned,
        installment=invoice.installments.get(),
        step=step,
        amount_left=Decimal("450.00"),
        days_late=3,
    )
    return planned


def test_cancel_releases_the_money_and_cancels_reminders_in_progress(mistyped, finance_user):
    customer, invoice = mistyped
    sent = services.reminder_send_now(customer=customer, user=finance_user)
    planned = _planned_reminder(customer, invoice, sent)
    today = timezone.localdate()

    services.invoice_cancel(invoice=invoice, user=finance_user, reason="Amount mistyped")

    invoice.refresh_from_db()
    assert invoice.is_cancelled
    assert Payment.objects.get(customer=customer).allocated_amount == 0
    assert Allocation.objects.count() == 2 and not Allocation.objects.live().exists()
    planned.refresh_from_db()
    sent.refresh_from_db()
    assert planned.status == Reminder.Status.CANCELLED and "Amount mistyped" in planned.note
    assert not planned.items.filter(active=True).exists()
    assert sent.status == Reminder.Status.SENT
    entry = Activity.objects.get(customer=customer, kind=Activity.Kind.CORRECTION)
    assert entry.author == finance_user and entry.body == "Amount mistyped"
    assert invoice.number in entry.summary
    # Balances: today the 300 are credit; yesterday the invoice still counted (450 owed).
    assert ledger_balances(customer_ids=[customer.pk], as_of=today)[customer.pk].total == (
        Decimal("-300.00")
    )
    (row,) = aged_balance(user=None, as_of=today - DAY).rows
    assert (row["total"], row["d1_30"]) == (Decimal("450.00"), Decimal("450.00"))
    # The daily run has nothing left to remind.
    services.reminders_run(run_date=today)
    assert not Reminder.objects.filter(customer=customer, status__in=services.IN_PROGRESS).exists()


def test_cancel_refusals_change_nothing(mistyped, finance_user, sales_user):
    customer, invoice = mistyped
    with pytest.raises(ValidationError, match="Give the reason"):
        services.invoice_cancel(invoice=invoice, user=finance_user, reason="  ")
    with pytest.raises(PermissionDenied):
        services.invoice_cancel(invoice=invoice, user=sales_user, reason="No")
    assert not Invoice.objects.filter(cancelled_at__isnull=False).exists()
    assert Payment.objects.get(customer=customer).allocated_amount == Decimal("300.00")
    assert not Activity.objects.filter(kind=Activity.Kind.CORRECTION).exists()
    services.invoice_cancel(invoice=invoice, user=finance_user, reason="Mistyped")
    with pytest.raises(ValidationError, match="already cancelled"):
        services.invoice_cancel(invoice=invoice, user=finance_user, reason="Again")
    assert Activity.objects.filter(kind=Activity.Kind.CORRECTION).count() == 1


def test_a_credit_note_settling_the_invoice_stops_its_reminders(mistyped, finance_user):
    """The planned email said 450 left; once a credit note settles the invoice, the next
    daily run cancels it and plans nothing more for the customer."""
    customer, invoice = mistyped
    sent = services.reminder_send_now(customer=customer, user=finance_user)
    planned = _planned_reminder(customer, invoice, sent)
    receivables_services.credit_note_issue(
        customer=customer,
        user=finance_user,
        reason="Agreed discount",
        number="AV-COR",
        amount=Decimal("450.00"),
        credited_invoice=invoice,
    )
    # The next business day's run (the one after a Saturday or 31 December is Monday or
    # 2 January: a run on a day off does nothing).
    next_run = timezone.localdate() + DAY
    while not is_business_day(next_run):
        next_run += DAY
    services.reminders_run(run_date=next_run)
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.CANCELLED
    assert not Reminder.objects.filter(customer=customer, status__in=services.IN_PROGRESS).exists()


def test_a_customer_made_exempt_gets_no_reminder(mistyped, finance_user):
    customer, _invoice = mistyped
    customer_services.customer_update(
        customer=customer, user=finance_user, reason="Public body", reminders_exempt=True
    )
    result = services.reminders_run(run_date=timezone.localdate())
    assert not Reminder.objects.filter(customer=customer).exists(), result


def test_a_written_off_balance_is_not_reminded(mistyped, finance_user):
    customer, invoice = mistyped
    make_payment(customer, date=timezone.localdate(), amount="445.00", invoice=invoice)
    receivables_services.balance_write_off(customer=customer, user=finance_user, reason="Fees")
    services.reminders_run(run_date=timezone.localdate())
    assert not Reminder.objects.filter(customer=customer).exists()
    assert ledger_balances(customer_ids=[customer.pk], as_of=timezone.localdate())[
        customer.pk
    ].total == Decimal("0.00")
