"""Each event is emitted by the service that makes the change, in its transaction (the
outbox row exists before commit; a refused change records none)."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from core import webhooks
from core.models import WebhookEndpoint, WebhookEvent
from receivables.models import PromiseToPay
from reminders.letters import workflow as letters
from reminders.run import reminders_run
from reminders.run.claim import settle_promises
from reminders.run.plan import is_business_day
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders.test_letters import setup_company
from tests.reminders.test_letters_workflow import letter_awaiting_approval

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def endpoint(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", secret=webhooks.new_secret())


def types() -> list[str]:
    return list(WebhookEvent.objects.order_by("pk").values_list("type", flat=True))


def test_invoice_paid_and_payment_received(api_for, finance_user, customer):
    invoice = make_invoice(customer, number="EV-1", amount="100.00", plan="30_30_40")
    assert invoice.installments.count() == 3
    api = api_for(finance_user)
    paid_on = (timezone.localdate() - DAY).isoformat()  # any day of the year: yesterday
    api.post("/api/v1/payments", {"customer": customer.pk, "date": paid_on, "amount": "40"})
    assert types() == ["payment.received"]
    api.post("/api/v1/payments", {"customer": customer.pk, "date": paid_on, "amount": "60"})
    assert types() == ["payment.received", "invoice.paid", "payment.received"]
    paid = WebhookEvent.objects.get(type="invoice.paid").payload["data"]
    assert (paid["invoice"], paid["number"]) == (invoice.pk, "EV-1")


def test_disputes_and_promises(api_for, finance_user, customer):
    invoice = make_invoice(customer, number="EV-2")
    api = api_for(finance_user)
    opened = api.post("/api/v1/disputes", {"invoice": invoice.pk, "reason": "price"})
    assert opened.status_code == 201
    api.post(f"/api/v1/disputes/{opened.json()['id']}/resolve", {"resolution": "credited"})
    promised = api.post(
        "/api/v1/promises",
        {
            "customer": customer.pk,
            "promised_date": (timezone.localdate() + 10 * DAY).isoformat(),
            "amount": "1000.00",
        },
    )
    assert promised.status_code == 201, promised.content
    assert types() == ["dispute.opened", "dispute.resolved", "promise.recorded"]
    assert WebhookEvent.objects.get(type="dispute.resolved").payload["data"]["resolution"] == (
        "credited"
    )


def test_a_broken_promise(finance_user, customer, clock):
    make_invoice(
        customer, number="EV-3", issue_date=clock.today - 70 * DAY, due_date=clock.today - 40 * DAY
    )
    PromiseToPay.objects.create(
        customer=customer,
        promised_date=clock.today - 30 * DAY,
        amount="1000.00",
        recorded_by=finance_user,
    )
    assert settle_promises(run_date=clock.today) == 1
    assert types() == ["promise.broken"]


def test_notice_approved_and_posted(finance_user, customer, clock, monkeypatch):
    monkeypatch.setattr(
        "reminders.letters.workflow.render_letter_pdf", lambda **kwargs: b"%PDF-1.7 fake"
    )
    setup_company()
    make_invoice(
        customer,
        number="EV-4",
        issue_date=clock.today - 70 * DAY,
        due_date=clock.today - 40 * DAY,
        amount="1200.00",
    )
    letter = letter_awaiting_approval(customer)
    letters.letter_approve(user=finance_user, reminder_id=letter.pk)
    letters.letter_store_pdf(reminder_id=letter.pk)
    letters.letter_record_posting(
        user=finance_user,
        reminder_id=letter.pk,
        tracking_number="1A00000001",
        posted_on=timezone.localdate(),
    )
    assert types() == ["notice.approved", "notice.posted"]
    posted = WebhookEvent.objects.get(type="notice.posted").payload["data"]
    assert posted["tracking_number"] == "1A00000001"


def test_reminder_sent_by_the_daily_run(clock):
    customer = make_reminder_customer("EVRUN")
    make_invoice(
        customer, number="EV-5", issue_date=clock.today - 40 * DAY, due_date=clock.today - 2 * DAY
    )
    run_day = clock.today
    while not is_business_day(run_day):  # weekends and public holidays send nothing
        run_day += DAY
    clock.move_to(f"{run_day.isoformat()}T07:00")
    reminders_run(run_date=run_day)
    assert len(mail.outbox) == 1
    assert types() == ["reminder.sent"]
    assert WebhookEvent.objects.get().payload["data"]["customer"] == customer.pk


def test_an_unknown_event_type_is_a_programming_error():
    with pytest.raises(ValueError):
        webhooks.emit("invoice.eaten", {})
