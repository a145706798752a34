"""The benchmark's data generator: consistent data, and no write on a database it did not
fill."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, Q, Sum

from benchmarks.data import PREFIX, USER_PREFIX, RealDataError, generate
from customers.models import Contact, Customer
from receivables.models import Allocation, Installment, Invoice, Payment
from tests.factories import CustomerFactory, make_user


def _snapshot():
    return (
        Customer.objects.count(),
        Invoice.objects.count(),
        User.objects.count(),
        list(User.objects.order_by("pk").values_list("username", "password")),
    )


@pytest.mark.django_db
def test_refuses_a_database_with_a_customer_it_did_not_make():
    CustomerFactory(customer_ref="411DUPONT")
    before = _snapshot()
    with pytest.raises(RealDataError):
        generate(invoices=10, customers=2)
    assert _snapshot() == before
    assert not User.objects.filter(username__startswith=USER_PREFIX).exists()


@pytest.mark.django_db
def test_refuses_a_database_with_a_user_who_can_log_in():
    make_user("finance", username="alice")
    before = _snapshot()
    with pytest.raises(RealDataError):
        generate(invoices=10, customers=2)
    assert _snapshot() == before


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite only")
@pytest.mark.django_db
def test_refuses_sqlite():
    with pytest.raises(RealDataError, match="PostgreSQL"):
        generate(invoices=10, customers=2)
    assert not Customer.objects.exists()


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY: PostgreSQL only")
@pytest.mark.django_db
def test_generates_a_consistent_ledger_and_again_the_same(clock):
    counts = generate(invoices=300, customers=30)
    assert counts.customers == Customer.objects.count() == 30
    assert not Customer.objects.exclude(customer_ref__startswith=PREFIX).exists()
    assert counts.invoices + counts.credit_notes == Invoice.objects.count() == 300
    assert Contact.objects.filter(reminder_role="to").count() == 30
    assert set(Installment.objects.values_list("invoice__customer__sales_rep__username", flat=True))
    # paid_amount and allocated_amount are the sums of the allocations
    mismatched = Installment.objects.annotate(s=Sum("allocations__amount")).exclude(
        paid_amount=Sum("allocations__amount")
    )
    assert not mismatched.filter(s__isnull=False).exists()
    assert not Installment.objects.filter(paid_amount__gt=0, allocations__isnull=True).exists()
    payments = Payment.objects.annotate(s=Sum("allocations__amount"))
    assert all(p.allocated_amount == (p.s or Decimal(0)) for p in payments)
    # every invoice's installments sum to its amount, 1 to 3 of them
    plans = Invoice.objects.invoices().annotate(
        n=Count("installments"), s=Sum("installments__amount")
    )
    for invoice in plans:
        assert 1 <= invoice.n <= 3 and invoice.s == invoice.amount
    paid = Invoice.objects.invoices().filter(installments__paid_amount__gt=0).distinct().count()
    assert 0.4 < paid / counts.invoices < 0.8
    assert not Allocation.objects.filter(date__gt=clock.today).exists()
    assert Invoice.objects.filter(due_date__lt=clock.today).exists()
    assert Invoice.objects.filter(due_date__gt=clock.today).exists()
    assert User.objects.filter(username=f"{USER_PREFIX}finance").get().has_usable_password()
    rows = Invoice.objects.order_by("pk").values_list("number", "customer_id", "amount")
    first = list(rows)
    # a database of its own making is emptied and loaded again, identically
    generate(invoices=300, customers=30)
    assert list(rows.all()) == first
    assert Customer.objects.filter(~Q(customer_ref__startswith=PREFIX)).count() == 0
