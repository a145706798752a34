"""The manual actions held to the ledger's bounds (receivables/bounds.py): a promise is
for a day from today, within what is left to pay, on open invoices; a pause never ends an
existing one earlier without a confirmation (and the timeline says so); a call's next
action is today or later; "Send now" over a pause, a promise or a dispute asks first and
the timeline records the override. Each refusal writes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.confirm import asks_confirmation
from customers.models import Activity, Customer
from receivables.models import Dispute, PromiseToPay
from receivables.services import invoice_cancel
from reminders import forms, services
from reminders.models import Reminder
from tests.factories import make_invoice, make_payment, make_reminder_customer

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
D = Decimal


@pytest.fixture
def today(clock):
    return clock.today


def day(today, n: int) -> datetime.date:
    return today + datetime.timedelta(days=n)


@pytest.fixture
def owing(today, company_profile):
    """A customer owing 31 000 € on two invoices, one of them (1 000 €) paid."""
    customer = make_reminder_customer("BND")
    due = day(today, -3)
    big = make_invoice(
        customer, issue_date=day(due, -30), due_date=due, amount="31000.00", number="BIG"
    )
    paid = make_invoice(
        customer, issue_date=day(due, -30), due_date=due, amount="1000.00", number="PAID"
    )
    make_payment(customer, date=today, amount="1000.00", invoice=paid)
    return customer, big, paid


def promise(customer, user, today, **overrides):
    kwargs = {
        "customer": customer,
        "user": user,
        "promised_date": day(today, 7),
        "amount": D("10000.00"),
    } | overrides
    return services.promise_record(**kwargs)


# --- promises ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"promised_date": datetime.date(2020, 1, 15)}, "is in the past"),
        ({"promised_date": "yesterday"}, "is in the past"),
        ({"promised_date": "far"}, "too far ahead"),
        ({"promised_date": "past_max"}, "too far ahead for a promise: a promise holds"),
        ({"promised_date": "year_9999"}, "too far ahead"),
        ({"amount": D("0.01")}, "the least part of what is due by that day"),
        ({"amount": D("6199.99")}, "the least part of what is due by that day"),
        ({"invoices": "big", "amount": D("0.01")}, "the least part of what is due by that day"),
        ({"amount": D("99999999.00")}, "more than what is left to pay"),
        ({"amount": D("31000.01")}, "more than what is left to pay"),
        ({"invoices": "paid"}, "a promise covers open invoices only"),
        ({"invoices": "big", "amount": D("31000.01")}, "more than what is left to pay"),
    ],
)
def test_a_promise_out_of_bounds_is_refused(owing, finance_user, today, overrides, message):
    customer, big, paid = owing
    overrides = dict(overrides)  # the parameter is shared by every clock's run
    dates = {
        "yesterday": day(today, -1),
        "far": day(today, 366),
        "past_max": day(today, 91),
        "year_9999": datetime.date(9999, 12, 29),
    }
    if overrides.get("promised_date") in dates:
        overrides["promised_date"] = dates[overrides["promised_date"]]
    if "invoices" in overrides:
        overrides["invoices"] = [big if overrides["invoices"] == "big" else paid]
    with pytest.raises(ValidationError, match=message):
        promise(customer, finance_user, today, **overrides)
    assert not PromiseToPay.objects.exists()
    assert not Activity.objects.filter(kind=Activity.Kind.PROMISE).exists()


def test_a_promise_for_today_and_the_whole_balance_is_accepted(owing, finance_user, today):
    customer, big, _paid = owing
    promise(customer, finance_user, today, promised_date=today, amount=D("31000.00"))
    promise(customer, finance_user, today, invoices=[big], amount=D("31000.00"))
    # At the limits: 90 days ahead, a fifth of what is left to pay.
    promise(customer, finance_user, today, promised_date=day(today, 90), amount=D("6200.00"))
    assert PromiseToPay.objects.count() == 3


def test_the_promise_and_dispute_forms_offer_open_invoices_only(owing):
    customer, big, _paid = owing
    invoice_cancel(invoice=make_invoice(customer, number="CANC", amount="10.00"), reason="Typo")
    promise_choices = list(forms.PromiseForm(customer=customer).fields["invoices"].queryset)
    dispute_choices = list(forms.DisputeOpenForm(customer=customer).fields["invoice"].queryset)
    assert promise_choices == [big]
    assert dispute_choices == [big]


def test_a_paid_invoice_cannot_be_disputed(owing, finance_user):
    _customer, _big, paid = owing
    with pytest.raises(ValidationError, match="only an open invoice can be disputed"):
        services.dispute_open(invoice=paid, user=finance_user, reason=Dispute.Reason.PRICE)
    assert not Dispute.objects.exists()


@pytest.fixture
def finance_client(client, finance_user):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(finance_user)
    return client


def test_the_promise_form_shows_the_refusal(finance_client, owing, today):
    customer, _big, _paid = owing
    url = reverse("reminders:record_promise", args=[customer.pk])
    data = {"promised_date": "2020-01-15", "amount": "99999999.00"}
    response = finance_client.post(url, data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "is in the past" in html and "more than what is left to pay" in html
    assert not PromiseToPay.objects.exists()


# --- pauses ------------------------------------------------------------------------------


def test_a_pause_in_the_past_is_refused(owing, finance_user, today):
    customer, _big, _paid = owing
    with pytest.raises(ValidationError, match="is in the past"):
        services.reminders_pause(
            customer=customer, user=finance_user, until=datetime.date(2020, 1, 15)
        )
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until is None


def test_a_shorter_pause_needs_a_confirmation_and_the_timeline_says_so(owing, finance_user, today):
    customer, _big, _paid = owing
    services.reminders_pause(customer=customer, user=finance_user, until=day(today, 300))
    with pytest.raises(ValidationError, match="already paused until") as refused:
        services.reminders_pause(customer=customer, user=finance_user, until=day(today, 10))
    assert asks_confirmation(refused.value)
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until == day(today, 300)
    services.reminders_pause(
        customer=customer, user=finance_user, until=day(today, 10), confirmed=True
    )
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until == day(today, 10)
    last = Activity.objects.filter(kind=Activity.Kind.PAUSE).latest("pk")
    assert last.summary.startswith("Pause shortened")
    # A longer pause needs nothing.
    services.reminders_pause(customer=customer, user=finance_user, until=day(today, 20))


def test_resuming_during_a_pause_needs_a_confirmation(owing, finance_user, today):
    customer, _big, _paid = owing
    services.reminders_pause(customer=customer, user=finance_user, until=day(today, 30))
    with pytest.raises(ValidationError, match="already paused until"):
        services.reminders_pause(customer=customer, user=finance_user, until=None)
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until == day(today, 30)
    services.reminders_pause(customer=customer, user=finance_user, until=None, confirmed=True)
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until is None
    last = Activity.objects.filter(kind=Activity.Kind.PAUSE).latest("pk")
    assert last.summary.startswith("Pause ended early")
    # Once a pause is over, resuming is plain.
    Customer.objects.filter(pk=customer.pk).update(reminders_paused_until=day(today, -1))
    services.reminders_pause(customer=customer, user=finance_user, until=None)


def test_the_pause_form_asks_then_shortens(finance_client, owing, today):
    customer, _big, _paid = owing
    Customer.objects.filter(pk=customer.pk).update(reminders_paused_until=day(today, 300))
    url = reverse("reminders:pause", args=[customer.pk])
    data = {"until": day(today, 10).isoformat(), "note": ""}
    html = finance_client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "already paused until" in html and 'type="checkbox" name="confirm"' in html
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until == day(today, 300)
    finance_client.post(url, data | {"confirm": "on"}, HTTP_HX_REQUEST="true")
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until == day(today, 10)


def test_the_pause_form_refuses_a_past_day(finance_client, owing):
    customer, _big, _paid = owing
    url = reverse("reminders:pause", args=[customer.pk])
    response = finance_client.post(url, {"until": "2020-01-15"}, HTTP_HX_REQUEST="true")
    assert "is in the past" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).reminders_paused_until is None


# --- a call's next action ----------------------------------------------------------------


def test_a_next_action_in_the_past_is_refused(owing, finance_user, today):
    customer, _big, _paid = owing
    with pytest.raises(ValidationError, match="is in the past"):
        services.activity_log(
            customer=customer, user=finance_user, summary="Called", next_action_date=day(today, -1)
        )
    assert not Activity.objects.filter(kind=Activity.Kind.CALL).exists()
    services.activity_log(
        customer=customer, user=finance_user, summary="Called", next_action_date=today
    )


def test_the_call_form_refuses_a_past_next_action(finance_client, owing, today):
    customer, _big, _paid = owing
    url = reverse("reminders:log_call", args=[customer.pk])
    data = {"kind": "call", "summary": "Called", "next_action_date": day(today, -1).isoformat()}
    response = finance_client.post(url, data, HTTP_HX_REQUEST="true")
    assert "is in the past" in response.content.decode()
    assert not Activity.objects.filter(kind=Activity.Kind.CALL).exists()


# --- "Send now" --------------------------------------------------------------------------


@pytest.mark.parametrize("hold", ["promise", "pause", "dispute"])
def test_send_now_over_a_hold_asks_then_records_the_override(owing, finance_user, today, hold):
    customer, _big, _paid = owing
    other = make_invoice(customer, issue_date=day(today, -40), due_date=day(today, -5))
    if hold == "promise":
        promise(customer, finance_user, today)
        expected = "A promise to pay"
    elif hold == "pause":
        services.reminders_pause(customer=customer, user=finance_user, until=day(today, 5))
        expected = "Reminders are paused until"
    else:
        services.dispute_open(invoice=other, user=finance_user, reason=Dispute.Reason.PRICE)
        expected = "is disputed"
    mail.outbox = []
    with pytest.raises(ValidationError, match=expected) as refused:
        services.reminder_send_now(customer=customer, user=finance_user)
    assert asks_confirmation(refused.value)
    assert not Reminder.objects.exists() and not mail.outbox
    services.reminder_send_now(customer=customer, user=finance_user, confirmed=True)
    assert len(mail.outbox) == 1
    override = Activity.objects.get(outcome="override")
    assert override.author == finance_user and expected in override.summary


def test_the_send_now_form_asks_then_sends(finance_client, owing, finance_user, today):
    customer, _big, _paid = owing
    promise(customer, finance_user, today)
    url = reverse("reminders:send_now", args=[customer.pk])
    mail.outbox = []
    html = finance_client.post(url, {}, HTTP_HX_REQUEST="true").content.decode()
    assert "Send a reminder anyway?" in html and 'type="checkbox" name="confirm"' in html
    assert not mail.outbox
    finance_client.post(url, {"confirm": "on"}, HTTP_HX_REQUEST="true")
    assert len(mail.outbox) == 1
    assert Activity.objects.filter(outcome="override").exists()
