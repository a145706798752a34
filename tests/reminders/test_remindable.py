"""One rule says whether an installment may be reminded on a day
(``Installment.objects.remindable``): the daily run's planner, the check before a delayed
send (``cancel_stale_pending``) and the sales view's next step all follow it, and agree on
every case below."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from receivables import services as ledger
from receivables.models import Dispute, Installment
from reminders import services
from reminders.models import Reminder, ReminderItem, ScenarioStep
from reminders.run import reminders_dry_run
from reminders.run.claim import cancel_stale_pending
from tests.factories import make_invoice, make_payment, make_reminder_customer
from workplaces.selectors import sales

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 4, 15)  # a Wednesday; every invoice fell due the day before
GRACE = 3  # the company's default grace after a promised date

# case -> may it be reminded on DAY?
CASES = {
    "overdue": True,
    "paid": False,
    "partly paid": True,
    "disputed": False,
    "promised, within the grace": False,
    "promised for all invoices, within the grace": False,
    "promise past its grace": True,
    "paused until today": False,
    "paused until yesterday": True,
    "exempt": False,
    "direct debit": False,
    "direct debit returned": True,
    "not issued yet": False,
}


def _world(finance_user, clock) -> dict[str, Installment]:
    """One customer per case, each with one invoice of one installment due yesterday."""
    days = datetime.timedelta
    customer_kwargs = {
        "paused until today": {"reminders_paused_until": DAY},
        "paused until yesterday": {"reminders_paused_until": DAY - days(1)},
        "exempt": {"reminders_exempt": True},
        "direct debit": {"direct_debit": True},
        "direct debit returned": {"direct_debit": True},
    }
    installments = {}
    for n, case in enumerate(CASES):
        customer = make_reminder_customer(f"CASE{n:02d}", **customer_kwargs.get(case, {}))
        issued = DAY + days(1) if case == "not issued yet" else DAY - days(31)
        invoice = make_invoice(
            customer,
            number=f"R{n:02d}",
            issue_date=issued,
            due_date=max(DAY - days(1), issued),
            amount="900.00",
        )
        if case == "paid":
            make_payment(customer, date=DAY - days(2), amount="900.00", invoice=invoice)
        if case == "partly paid":
            make_payment(customer, date=DAY - days(2), amount="400.00", invoice=invoice)
        if case == "direct debit returned":
            # The bank sends the collection back: the installment is the customer's to pay.
            payment = make_payment(
                customer, date=DAY - days(3), amount="900.00", method="direct_debit"
            )
            ledger.payment_return(payment=payment, on=DAY - days(1), reason="AM04")
        if case == "disputed":
            services.dispute_open(invoice=invoice, user=finance_user, reason=Dispute.Reason.PRICE)
        if case.startswith("promise"):
            promised = DAY - days(GRACE) if "within" in case else DAY - days(GRACE + 1)
            now = clock.now
            clock.move_to(f"{(promised - days(1)).isoformat()}T10:00")  # recorded beforehand
            services.promise_record(
                customer=customer,
                user=finance_user,
                promised_date=promised,
                amount=Decimal("900.00"),
                invoices=[] if "all invoices" in case else [invoice],
            )
            clock.move_to(now)
        installments[case] = invoice.installments.get()
    return installments


def test_the_planner_the_send_check_and_the_sales_view_agree(finance_user, company_profile, clock):
    assert company_profile.promise_grace_days == GRACE
    installments = _world(finance_user, clock)
    case_of = {inst.pk: case for case, inst in installments.items()}
    expected = {case for case, ok in CASES.items() if ok}

    by_rule = {
        case_of[pk] for pk in Installment.objects.remindable(on=DAY).values_list("pk", flat=True)
    }
    assert by_rule == expected

    # The daily run (dry): step 1 falls due today for every installment it may remind.
    plans = reminders_dry_run(run_date=DAY).plans
    planned = {case_of[i.installment.id] for p in plans for i in p.emails}
    assert planned == expected

    # The sales view: a next step only where the run may remind.
    customers = list(sales.sales_customers(user=finance_user, today=DAY))
    sales.next_steps(customers, DAY)
    with_next = {case_of[c.next_inst] for c in customers if c.next_step is not None}
    assert with_next == expected

    # The check before sending an email planned by an earlier run (same amounts as
    # today): it goes out only where the run may remind.
    step = ScenarioStep.objects.get(scenario__is_default=True, position=1)
    emails = {}
    for case, inst in installments.items():
        email = Reminder.objects.create(
            customer=inst.invoice.customer,
            step=step,
            channel=Reminder.Channel.EMAIL,
            status=Reminder.Status.PLANNED,
            run_date=DAY - datetime.timedelta(days=1),
        )
        ReminderItem.objects.create(
            reminder=email, installment=inst, step=step, amount_left=inst.amount_left, days_late=0
        )
        emails[case] = email
    cancel_stale_pending(run_date=DAY, now=timezone.now())
    kept = {
        case
        for case, email in emails.items()
        if Reminder.objects.get(pk=email.pk).status == Reminder.Status.PLANNED
    }
    assert kept == expected
