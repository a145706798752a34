"""Model rules and allocation: what the database and the services guarantee."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from receivables import services
from receivables.models import Allocation, Installment, Invoice, Payment
from tests.factories import CustomerFactory, make_invoice, make_payment, unallocated_credit

D = Decimal
pytestmark = pytest.mark.django_db


def test_invoice_number_is_unique():
    inv = make_invoice(number="F-1")
    with pytest.raises(ValidationError):
        make_invoice(inv.customer, number="F-1")


def test_database_refuses_negative_amounts_and_due_before_issue():
    customer = CustomerFactory()
    base = {"customer": customer, "issue_date": datetime.date(2026, 1, 10), "currency": "EUR"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            number="N1", due_date=datetime.date(2026, 2, 1), amount=D("-1"), **base
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            number="N2", due_date=datetime.date(2026, 1, 1), amount=D("1"), **base
        )
    with pytest.raises(ValidationError, match="before the issue date"):
        services.invoice_create(
            number="N3",
            due_date=datetime.date(2026, 1, 1),
            amount=D("1"),
            customer=customer,
            issue_date=base["issue_date"],
        )


# --- one ledger currency -------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["USD", "eur"])
def test_the_invoice_services_refuse_another_currency(currency):
    customer = CustomerFactory()
    day = datetime.date(2026, 1, 10)
    with pytest.raises(ValidationError) as refused:
        services.invoice_create(
            customer=customer,
            number="F-USD",
            issue_date=day,
            due_date=day,
            amount=D("100"),
            currency=currency,
        )
    assert refused.value.message_dict["currency"] == [
        f"{currency} is not accepted: the ledger is kept in EUR only."
    ]
    with pytest.raises(ValidationError, match="the ledger is kept in EUR only"):
        services.credit_note_create(
            customer=customer, number="A-USD", issue_date=day, amount=D("10"), currency=currency
        )
    assert not Invoice.objects.exists()


def test_the_database_refuses_another_currency():
    customer = CustomerFactory()
    day = datetime.date(2026, 1, 10)
    invoice = Invoice(customer=customer, number="F-1", issue_date=day, due_date=day, amount=D("1"))
    invoice.currency = "USD"
    with pytest.raises(ValidationError) as refused:
        invoice.validate_constraints()
    assert refused.value.messages == ["Invoices are kept in EUR, the ledger's only currency."]
    with pytest.raises(IntegrityError), transaction.atomic():
        invoice.save()
    invoice = make_invoice(customer, number="F-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(currency="GBP")
    assert Invoice.objects.get().currency == "EUR"


def test_the_currency_migration_stops_on_foreign_invoices_and_converts_nothing():
    """Rows from before the rule are named, never converted: someone decides."""
    migration = importlib.import_module("receivables.migrations.0006_invoice_currency_ledger")
    make_invoice(number="F-EUR")
    migration.refuse_foreign_currencies(django_apps, connection.schema_editor())  # all EUR
    invoice = make_invoice(number="F-USD")
    with connection.cursor() as cursor:  # the state before the migration, in this test only
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = 1")
        else:  # rolled back with the test; deferred foreign keys checked first
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE receivables_invoice DROP CONSTRAINT invoice_currency_ledger"
            )
    try:
        Invoice.objects.filter(pk=invoice.pk).update(currency="USD")
        with pytest.raises(migration.ForeignCurrencyInvoicesError) as stopped:
            migration.refuse_foreign_currencies(django_apps, connection.schema_editor())
    finally:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = 0")
    assert "1 invoice(s) are in another currency (USD: 1): F-USD. Nothing was converted." in (
        str(stopped.value)
    )
    assert Invoice.objects.get(pk=invoice.pk).currency == "USD"


def test_database_refuses_an_installment_paid_beyond_its_amount():
    inst = make_invoice(amount="100.00").installments.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Installment.objects.filter(pk=inst.pk).update(paid_amount=D("100.01"))


def test_database_refuses_a_payment_allocated_beyond_its_amount_and_sourceless_allocations():
    inv = make_invoice(amount="100.00")
    pay = make_payment(inv.customer, date=datetime.date(2026, 3, 1), amount="40.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=pay.pk).update(allocated_amount=D("40.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(
            installment=inv.installments.get(), amount=D("1"), date=datetime.date(2026, 3, 1)
        )


def test_payment_allocates_oldest_installment_first_and_keeps_the_excess_as_credit():
    customer = CustomerFactory()
    old = make_invoice(customer, issue_date=datetime.date(2026, 1, 1), amount="300.00")
    new = make_invoice(
        customer, issue_date=datetime.date(2026, 2, 1), amount="1000.00", plan="50_50"
    )
    pay = make_payment(customer, date=datetime.date(2026, 4, 1), amount="1000.00")
    assert pay.allocated_amount == D("1000.00")
    assert old.installments.get().paid_amount == D("300.00")
    first, second = new.installments.order_by("sequence")
    assert (first.paid_amount, second.paid_amount) == (D("500.00"), D("200.00"))
    pay2 = make_payment(customer, date=datetime.date(2026, 5, 1), amount="700.00")
    second.refresh_from_db()
    assert second.paid_amount == D("500.00")
    assert pay2.unallocated == D("400.00")
    assert unallocated_credit(customer) == D("400.00")


def test_partial_payment_to_a_named_invoice_and_to_chosen_installments():
    customer = CustomerFactory()
    a = make_invoice(customer, issue_date=datetime.date(2026, 1, 1), amount="100.00")
    b = make_invoice(customer, issue_date=datetime.date(2026, 2, 1), amount="200.00", plan="50_50")
    make_payment(customer, date=datetime.date(2026, 3, 1), amount="30.00", invoice=b)
    assert a.installments.get().paid_amount == 0
    assert b.installments.get(sequence=1).paid_amount == D("30.00")
    second = b.installments.get(sequence=2)
    make_payment(customer, date=datetime.date(2026, 3, 2), amount="100.00", installments=[second])
    second.refresh_from_db()
    assert second.paid_amount == D("100.00")
    assert a.installments.get().paid_amount == 0


def test_payment_to_another_customers_invoice_is_refused_and_writes_nothing():
    inv = make_invoice()
    other = CustomerFactory()
    with pytest.raises(ValidationError):
        make_payment(other, date=datetime.date(2026, 3, 1), amount="10", invoice=inv)
    assert not Payment.objects.exists()


def test_credit_note_reduces_the_credited_invoice_from_its_last_installment():
    inv = make_invoice(amount="900.00", plan="30_30_40")
    services.credit_note_create(
        customer=inv.customer,
        number="AV-1",
        issue_date=datetime.date(2026, 2, 1),
        amount=D("400.00"),
        credited_invoice=inv,
    )
    paid = list(inv.installments.order_by("sequence").values_list("paid_amount", flat=True))
    assert paid == [D("0.00"), D("40.00"), D("360.00")]
    assert unallocated_credit(inv.customer) == 0


def test_cancelling_an_invoice_releases_its_allocations_as_credit():
    inv = make_invoice(amount="100.00")
    pay = make_payment(inv.customer, date=datetime.date(2026, 2, 1), amount="60.00")
    services.invoice_cancel(invoice=inv, reason="Mistyped")
    pay.refresh_from_db()
    assert pay.allocated_amount == 0
    # Nothing is deleted: the allocation stays, released by its reversal.
    assert not Allocation.objects.live().exists()
    assert [a.amount for a in Allocation.objects.order_by("pk")] == [D("60.00"), D("-60.00")]
    assert unallocated_credit(inv.customer) == D("60.00")
    with pytest.raises(ValidationError, match="already cancelled"):
        services.invoice_cancel(invoice=inv, reason="Mistyped")


class AllocationProperties(HypothesisTestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        invoices=st.lists(
            st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2), min_size=1, max_size=5
        ),
        payments=st.lists(
            st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2), min_size=1, max_size=5
        ),
    )
    def test_allocations_always_balance(self, invoices, payments):
        customer = CustomerFactory()
        for i, amount in enumerate(invoices):
            make_invoice(
                customer, issue_date=datetime.date(2026, 1, 1 + i), amount=amount, plan="30_30_40"
            )
        for j, amount in enumerate(payments):
            make_payment(customer, date=datetime.date(2026, 6, 1 + j), amount=amount)
        insts = Installment.objects.filter(invoice__customer=customer)
        total_invoiced = sum(invoices)
        total_paid = sum(payments)
        allocated = sum(a.amount for a in Allocation.objects.filter(installment__in=insts))
        assert allocated == min(total_invoiced, total_paid)
        assert all(i.paid_amount == sum(a.amount for a in i.allocations.all()) for i in insts)
        assert unallocated_credit(customer) == total_paid - allocated
