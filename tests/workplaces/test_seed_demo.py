import datetime
import zoneinfo

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from customers.models import Activity, Customer, UserPreferences
from receivables.interest import customer_late_claims, half_year_start
from receivables.models import Dispute, Installment, Payment, PromiseToPay, ReferenceRate
from receivables.selectors import aged_balance
from reminders.models import Reminder
from workplaces.demo import DEMO_RATE_SOURCE

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today

# seed_demo takes seconds and this module runs at every hard moment in CI: one seeding,
# then each property of the demo is checked by its own function.


def check_a_living_ledger() -> None:
    for username in ("admin", "finance", "manager", "sales", "sales2"):
        assert authenticate(username=username, password="pw-demo-9876"), username
    assert Customer.objects.count() >= 30
    assert (
        Installment.objects.values("invoice").distinct().count() < Installment.objects.count()
    )  # plans
    assert Payment.objects.filter(allocated_amount__lt=F("amount")).exists()  # credit left
    assert Installment.objects.filter(paid_amount__gt=0, paid_amount__lt=F("amount")).exists()
    assert Dispute.objects.exists() and PromiseToPay.objects.exists()
    ab = aged_balance(user=None, as_of=timezone.localdate())
    overdue_columns = {
        k for r in ab.rows for k in ("d1_30", "d31_60", "d61_90", "d90_plus") if r[k] > 0
    }
    assert len(overdue_columns) == 4
    assert Reminder.objects.filter(channel="email", status="sent").exists()
    assert Reminder.objects.filter(channel="phone", status="todo").exists()
    assert Reminder.objects.filter(channel="letter", status="awaiting_approval").exists()


def check_the_replayed_days_carry_their_own_dates() -> None:
    """Each replayed run dates its sends, approvals and timeline entries at its own 07:00
    in Paris, not at the moment the demo was loaded."""
    today = timezone.localdate()
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    sent = Reminder.objects.filter(sent_at__isnull=False)
    assert sent.exists()
    for r in sent:
        local = r.sent_at.astimezone(paris)
        assert local.date() == r.run_date < today, r
        assert local.time() == datetime.time(7), r
    assert len({r.run_date for r in sent}) > 5
    assert not Activity.objects.filter(kind="email", occurred_at__date__gte=today).exists()
    # A letter awaiting approval lists the reminders sent before it, each on its own day.
    letter = Reminder.objects.filter(channel="letter", status="awaiting_approval").first()
    history = Reminder.objects.filter(
        customer=letter.customer, channel="email", status="sent"
    ).values_list("sent_at", flat=True)
    assert all(timezone.localdate(at) < letter.run_date for at in history)


def check_an_ecb_rate_for_each_half_year_labelled_as_demo_data() -> None:
    today = timezone.localdate()
    assert ReferenceRate.objects.filter(start_date=half_year_start(today)).exists()
    for rate in ReferenceRate.objects.filter(source=DEMO_RATE_SOURCE):
        previous = ReferenceRate.objects.in_force_on(rate.start_date - datetime.timedelta(days=1))
        assert rate.rate == previous.rate  # the last known rate, carried forward
    # So the demo's letters carry no "rate missing" warning.
    for letter in Reminder.objects.filter(channel="letter", status="awaiting_approval"):
        claim = customer_late_claims(customer=letter.customer, as_of=today)
        assert claim.unconfirmed_half_years == ()


def check_the_users_have_the_readmes_languages() -> None:
    languages = dict(UserPreferences.objects.values_list("user__username", "language"))
    assert languages == {
        "admin": "fr",
        "finance": "fr",
        "manager": "fr",
        "sales": "fr",
        "sales2": "en",
    }


def test_seed_demo_builds_a_truthful_living_ledger_and_is_idempotent():
    call_command("seed_demo", "--password", "pw-demo-9876", verbosity=0)
    check_a_living_ledger()
    check_the_replayed_days_carry_their_own_dates()
    check_an_ecb_rate_for_each_half_year_labelled_as_demo_data()
    check_the_users_have_the_readmes_languages()
    customers, reminders = Customer.objects.count(), Reminder.objects.count()
    demo_rates = set(ReferenceRate.objects.filter(source=DEMO_RATE_SOURCE))
    call_command("seed_demo", verbosity=0)
    assert Customer.objects.count() == customers
    assert Reminder.objects.count() == reminders
    assert set(ReferenceRate.objects.filter(source=DEMO_RATE_SOURCE)) == demo_rates
