"""The reminder-based sections of the finance worklist (reminders/selectors.py) and the
worklist's "retry now" (reminders/services.py): what each section holds, in which order,
scoped to the user, and what a retry does."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core import access
from customers.models import Activity
from reminders import selectors
from reminders.models import Reminder, ReminderItem, ScenarioStep
from reminders.run.claim import MAX_ATTEMPTS
from reminders.services import reminder_retry_now
from tests.factories import CustomerFactory, make_invoice, make_payment, make_reminder_customer
from workplaces.selectors.dashboard import week_start

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
TODAY = timezone.localdate
S = Reminder.Status
C = Reminder.Channel


def step(position: int) -> ScenarioStep:
    return ScenarioStep.objects.get(scenario__is_default=True, position=position)


def reminder(customer, channel, status, *, position=1, days_ago=0, **kwargs) -> Reminder:
    return Reminder.objects.create(
        customer=customer,
        step=step(position),
        channel=channel,
        status=status,
        run_date=TODAY() - datetime.timedelta(days=days_ago),
        **kwargs,
    )


@pytest.fixture
def book(sales_user, other_sales_user):
    """One customer per sales rep, each with a reminder of every worklist kind (and a
    few rows that are not on the worklist)."""
    rows = {}
    for rep, ref in ((sales_user, "OWN"), (other_sales_user, "OTH")):
        c = CustomerFactory(customer_ref=ref, sales_rep=rep)
        rows[ref] = {
            "phone_old": reminder(c, C.PHONE, S.TODO, position=3, days_ago=5),
            "phone_new": reminder(c, C.PHONE, S.TODO, position=3, days_ago=1),
            "phone_done": reminder(c, C.PHONE, S.DONE, position=3, days_ago=9),
            "letter": reminder(c, C.LETTER, S.AWAITING_APPROVAL, position=4),
            "letter_planned": reminder(c, C.LETTER, S.PLANNED, position=4),
            "failed": reminder(c, C.EMAIL, S.FAILED, days_ago=1),
            "unknown": reminder(c, C.EMAIL, S.UNKNOWN, days_ago=2),
            "collection": reminder(c, C.COLLECTION, S.TODO, position=5),
            "sent": reminder(c, C.EMAIL, S.SENT, sent_at=timezone.now()),
            "sent_long_ago": reminder(
                c, C.EMAIL, S.SENT, sent_at=timezone.now() - datetime.timedelta(days=10)
            ),
        }
    return rows


def pks(qs) -> list[int]:
    return [r.pk for r in qs]


def test_sections_hold_their_rows_in_working_order(book, finance_user):
    own, oth = book["OWN"], book["OTH"]
    assert pks(selectors.phone_tasks(user=finance_user)) == [
        own["phone_old"].pk,
        oth["phone_old"].pk,
        own["phone_new"].pk,
        oth["phone_new"].pk,
    ]
    assert set(pks(selectors.letters_to_approve(user=finance_user))) == {
        own["letter"].pk,
        oth["letter"].pk,
    }
    assert set(pks(selectors.collection_tasks(user=finance_user))) == {
        own["collection"].pk,
        oth["collection"].pk,
    }
    # Unknown sends first (they block the customer's next email), then failed ones.
    sends = list(selectors.sends_to_check(user=finance_user))
    assert [r.status for r in sends] == [S.UNKNOWN, S.UNKNOWN, S.FAILED, S.FAILED]
    since = week_start(TODAY())
    assert set(pks(selectors.sent_since(user=finance_user, since=since))) == {
        own["sent"].pk,
        oth["sent"].pk,
    }


def test_sections_are_scoped_to_the_sales_rep(book, sales_user):
    own = book["OWN"]
    assert pks(selectors.phone_tasks(user=sales_user)) == [
        own["phone_old"].pk,
        own["phone_new"].pk,
    ]
    assert pks(selectors.letters_to_approve(user=sales_user)) == [own["letter"].pk]
    assert {r.customer.customer_ref for r in selectors.sends_to_check(user=sales_user)} == {"OWN"}


def test_counts_match_the_sections_in_one_query(book, finance_user, django_assert_num_queries):
    since = week_start(TODAY())
    access.roles(finance_user)  # the user's roles are read once per request
    with django_assert_num_queries(1):
        counts = selectors.worklist_counts(user=finance_user, since=since)
    assert counts == {"tasks": 4, "collection": 2, "letters": 2, "sends": 4, "sent": 2}


def test_week_starts_on_monday_at_midnight():
    wednesday = datetime.date(2026, 4, 15)
    start = week_start(wednesday)
    assert timezone.localtime(start).date() == datetime.date(2026, 4, 13)
    assert timezone.localtime(start).time() == datetime.time.min


def test_customer_reminder_log_is_newest_first(book):
    own = book["OWN"]
    customer = own["letter"].customer
    log = list(selectors.customer_reminder_log(customer=customer))
    assert len(log) == 10
    assert [r.run_date for r in log] == sorted((r.run_date for r in log), reverse=True)


# --- retry now ---------------------------------------------------------------------------


def _failed_email(*, attempts=1):
    """A step-1 email that failed this morning, due for retry only in an hour."""
    customer = make_reminder_customer("RETRY")
    due = TODAY() - datetime.timedelta(days=5)
    invoice = make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)
    installment = invoice.installments.get()
    email = reminder(
        customer,
        C.EMAIL,
        S.FAILED,
        attempts=attempts,
        attempted_on=TODAY(),
        subject="Relance",
        body_text="Merci de régler",
        body_html="<p>Merci de régler</p>",
        recipients={"to": ["retry@client.example"], "cc": []},
        message_id="<retry-1@relance.test>",
        last_error="451 try later",
        next_attempt_at=timezone.now() + datetime.timedelta(hours=1),
        total_amount=installment.amount,
    )
    ReminderItem.objects.create(
        reminder=email,
        installment=installment,
        step=email.step,
        amount_left=installment.amount_left,
        days_late=5,
    )
    return customer, email


def test_retry_now_sends_with_the_original_message_id(finance_user, company_profile):
    _customer, email = _failed_email()
    mail.outbox = []
    result = reminder_retry_now(reminder=email, user=finance_user)
    assert result.status == S.SENT and result.attempts == 2
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == "<retry-1@relance.test>"
    assert Activity.objects.filter(customer=email.customer, kind=Activity.Kind.EMAIL).exists()


def test_retry_now_cancels_an_email_whose_amounts_changed(finance_user, company_profile):
    customer, email = _failed_email()
    make_payment(customer, date=TODAY(), amount="100.00")
    mail.outbox = []
    result = reminder_retry_now(reminder=email, user=finance_user)
    assert result.status == S.CANCELLED and mail.outbox == []
    assert not email.items.filter(active=True).exists()


def test_retry_now_refuses_what_cannot_be_retried(finance_user, sales_user, company_profile):
    _customer, email = _failed_email(attempts=MAX_ATTEMPTS)
    with pytest.raises(ValidationError, match="cannot be retried"):
        reminder_retry_now(reminder=email, user=finance_user)
    email.refresh_from_db()
    assert email.status == S.FAILED
    sent = reminder(email.customer, C.EMAIL, S.SENT, sent_at=timezone.now())
    with pytest.raises(ValidationError):
        reminder_retry_now(reminder=sent, user=finance_user)
    with pytest.raises(PermissionDenied):
        reminder_retry_now(reminder=email, user=sales_user)


def test_phone_task_amounts_are_decimals(book, finance_user):
    task = selectors.phone_tasks(user=finance_user).first()
    assert isinstance(task.total_amount, Decimal)
