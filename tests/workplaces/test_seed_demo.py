import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from customers.models import Customer
from receivables.models import Dispute, Installment, Payment, PromiseToPay
from receivables.selectors import aged_balance
from reminders.models import Reminder

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today


def test_seed_demo_builds_a_living_ledger_and_is_idempotent():
    call_command("seed_demo", "--password", "pw-demo-9876", verbosity=0)
    for username in ("admin", "finance", "manager", "sales", "sales2"):
        assert authenticate(username=username, password="pw-demo-9876"), username
    customers = Customer.objects.count()
    assert customers >= 30
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
    reminders = Reminder.objects.count()
    assert Reminder.objects.filter(channel="email", status="sent").exists()
    assert Reminder.objects.filter(channel="phone", status="todo").exists()
    assert Reminder.objects.filter(channel="letter", status="awaiting_approval").exists()
    call_command("seed_demo", verbosity=0)
    assert Customer.objects.count() == customers
    assert Reminder.objects.count() == reminders
