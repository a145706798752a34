"""One balance definition (receivables/selectors/balances.py, ``ledger_balances``) and
every computation of it agreeing on random ledgers at several as-of dates: the ORM
annotation (both of its forms), the aged balance's two SQL statements, the KPIs' totals,
the over-credit-limit statement and the customer pages' lists."""

import contextlib
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from core import access
from core.money import to_cents
from customers.models import Customer
from receivables import kpis, services
from receivables.models import Dispute, Invoice, Payment
from receivables.selectors import (
    BUCKETS,
    Balance,
    aged_balance,
    bucket_of,
    customers_over_credit_limit,
    ledger_balances,
    with_balances,
)
from reminders import services as reminder_services
from tests.factories import CustomerFactory, make_user
from workplaces.selectors import customers as pages
from workplaces.selectors import sales

D = Decimal
DAY = datetime.timedelta(days=1)
CUSTOMERS = 3
FIELDS = (*BUCKETS, "total")

amounts = st.decimals(min_value=D("0.01"), max_value=D("3000"), places=2)
customer = st.integers(min_value=0, max_value=CUSTOMERS - 1)
past = st.integers(min_value=-200, max_value=0)  # days from today
invoice_op = st.tuples(
    st.just("invoice"),
    customer,
    # Issued in the past, or up to 20 days ahead (it counts from its issue date only).
    st.one_of(st.integers(min_value=-200, max_value=0), st.integers(min_value=1, max_value=20)),
    st.integers(min_value=0, max_value=60),  # due days after issue
    amounts,
    st.sampled_from(["single", "50_50", "30_30_40", "monthly"]),
)
payment_op = st.tuples(
    st.just("payment"), customer, past, amounts, st.sampled_from(["oldest", "last_invoice"])
)
credit_note_op = st.tuples(st.just("credit_note"), customer, past, amounts, st.booleans())
cancel_op = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20))
dispute_op = st.tuples(st.just("dispute"), st.integers(min_value=0, max_value=20))
allocate_op = st.tuples(st.just("allocate"), st.integers(min_value=0, max_value=20))
# Finance's corrections: a payment re-allocated (its allocations reversed today, allocated
# again from today), the unallocated credit applied, a small balance written off.
correction_op = st.tuples(
    st.sampled_from(["reallocate", "apply_credit", "write_off"]),
    st.integers(min_value=0, max_value=20),
)
operations = st.lists(
    st.one_of(
        invoice_op,
        invoice_op,
        payment_op,
        credit_note_op,
        cancel_op,
        dispute_op,
        allocate_op,
        correction_op,
    ),
    min_size=1,
    max_size=14,
)


def build(ops, customers: list[Customer], today: datetime.date, finance=None) -> None:
    """Apply the operations through the real services, in order (an allocation happens
    when its payment is recorded, over what is open then)."""
    documents: list[Invoice] = []
    payments: list[Payment] = []
    for n, op in enumerate(ops):
        kind = op[0]
        if kind == "invoice":
            _, c, issued, due_after, amount, plan = op
            issue = today + datetime.timedelta(days=issued)
            documents.append(
                services.invoice_create(
                    customer=customers[c],
                    number=f"F{n}",
                    issue_date=issue,
                    due_date=issue + datetime.timedelta(days=due_after),
                    amount=amount,
                    plan=plan,
                    parts=3 if plan == "monthly" else None,
                )
            )
        elif kind == "payment":
            _, c, dated, amount, target = op
            invoices = [d for d in documents if d.customer_id == customers[c].pk]
            invoice = invoices[-1] if target == "last_invoice" and invoices else None
            payments.append(
                services.payment_record(
                    customer=customers[c],
                    date=today + datetime.timedelta(days=dated),
                    amount=amount,
                    invoice=invoice if invoice and not invoice.is_credit_note else None,
                )
            )
        elif kind == "credit_note":
            _, c, dated, amount, allocated = op
            invoices = [
                d
                for d in documents
                if d.customer_id == customers[c].pk and not d.is_credit_note and not d.is_cancelled
            ]
            documents.append(
                services.credit_note_create(
                    customer=customers[c],
                    number=f"AV{n}",
                    issue_date=today + datetime.timedelta(days=dated),
                    amount=amount,
                    credited_invoice=invoices[-1] if allocated and invoices else None,
                )
            )
        elif kind == "cancel" and documents:
            document = documents[op[1] % len(documents)]
            document.refresh_from_db()
            if not document.is_cancelled:
                documents[op[1] % len(documents)] = services.invoice_cancel(
                    invoice=document, reason="Mistyped"
                )
        elif kind == "dispute" and documents:
            document = documents[op[1] % len(documents)]
            if finance is not None:  # through the service, as finance staff do
                with contextlib.suppress(ValidationError):
                    reminder_services.dispute_open(
                        invoice=document, user=finance, reason=Dispute.Reason.PRICE
                    )
            elif not Dispute.objects.open().filter(invoice=document).exists():
                Dispute.objects.create(invoice=document, reason=Dispute.Reason.PRICE)
        elif kind == "allocate" and payments:
            services.payment_allocate(payment=payments[op[1] % len(payments)])
        elif kind == "reallocate" and payments:
            services.payment_reallocate(
                payment=payments[op[1] % len(payments)], user=finance, reason="Wrong invoice"
            )
        elif kind in ("apply_credit", "write_off"):
            service = (
                services.credit_apply if kind == "apply_credit" else services.balance_write_off
            )
            # Refused when there is nothing to apply, or above the threshold.
            with contextlib.suppress(ValidationError):
                service(customer=customers[op[1] % len(customers)], user=finance, reason="r")


def figures(balance: Balance) -> tuple:
    return tuple(getattr(balance, f) for f in FIELDS)


def annotated(customer: Customer) -> tuple:
    return tuple(to_cents(getattr(customer, f)) for f in FIELDS)


def as_of_dates(today: datetime.date) -> list[datetime.date]:
    """A past date (the allocations made since are added back), yesterday, today, and a
    future date (invoices issued ahead start to count)."""
    return [today - 45 * DAY, today - DAY, today, today + 30 * DAY]


class BalanceDefinition(HypothesisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.customers = [CustomerFactory(customer_ref=f"R{i}", name=f"R{i}") for i in range(3)]
        cls.finance = make_user(access.FINANCE, "finance_def")

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ops=operations)
    def test_every_computation_gives_the_defined_balance(self, ops):
        today = timezone.localdate()
        customers, finance = self.customers, self.finance
        ids = [c.pk for c in customers]
        build(ops, customers, today, finance)
        for as_of in as_of_dates(today):
            expected = ledger_balances(customer_ids=ids, as_of=as_of)
            variants: dict[str, dict[int, tuple]] = {}
            for name, assumed_today in (
                ("with_balances", today),
                ("with_balances, allocation-date form", as_of + DAY),
            ):
                qs = with_balances(Customer.objects.filter(pk__in=ids), as_of, today=assumed_today)
                variants[name] = {c.pk: annotated(c) for c in qs}
                credits = {c.pk: to_cents(c.credit) for c in qs}
                assert credits == {pk: b.credit for pk, b in expected.items()}, name
            for name, assumed_today in (
                ("aged_balance", today),
                ("aged_balance, historical statement", as_of + DAY),
            ):
                rows = aged_balance(user=None, as_of=as_of, today=assumed_today).rows
                found = {r["customer_id"]: tuple(r[f] for f in FIELDS) for r in rows}
                # Customers with nothing open and no credit are left out of the rows.
                variants[name] = {pk: found.get(pk, (D("0.00"),) * len(FIELDS)) for pk in ids}
            variants["customer list"] = {
                c.pk: annotated(c) for c in pages.customer_list(user=finance, as_of=as_of)
            }
            for name, got in variants.items():
                assert got == {pk: figures(b) for pk, b in expected.items()}, (name, as_of)

            totals = kpis.ledger_totals(user=None, as_of=as_of)
            assert totals.total == sum((b.total for b in expected.values()), D("0.00"))
            assert totals.overdue == sum((b.overdue for b in expected.values()), D("0.00"))

        expected = ledger_balances(customer_ids=ids, as_of=today)
        rows = sales.sales_customers(user=finance, today=today)
        assert {c.pk: (to_cents(c.total), to_cents(c.overdue)) for c in rows} == {
            pk: (b.total, b.overdue) for pk, b in expected.items()
        }
        # Over the limit: a limit a cent under the balance is breached, one equal is not.
        for n, c in enumerate(customers):
            total = expected[c.pk].total
            limit = max(total - D("0.01") if n % 2 == 0 else total, D("0.00"))
            Customer.objects.filter(pk=c.pk).update(
                **{"credit_limit" if n < 2 else "insured_cover": limit}
            )
        limited = Customer.objects.filter(pk__in=ids)
        over = [
            c
            for c in limited
            if c.exceeds_credit_limit(expected[c.pk].total)
            or c.exceeds_insured_cover(expected[c.pk].total)
        ]
        assert [c.name for c in over] == [
            c.name for n, c in enumerate(customers) if n % 2 == 0 and expected[c.pk].total > 0
        ]
        over.sort(key=lambda c: (-expected[c.pk].total, c.name, c.pk))
        assert customers_over_credit_limit(user=None) == [c.pk for c in over]


EDGES = {-5: "not_due", 0: "not_due", 1: "d1_30", 30: "d1_30", 31: "d31_60", 60: "d31_60"}
EDGES |= {61: "d61_90", 90: "d61_90", 91: "d90_plus", 400: "d90_plus"}


def test_bucket_edges():
    assert {days: bucket_of(days) for days in EDGES} == EDGES


@pytest.mark.django_db
def test_an_invoice_issued_after_today_is_not_in_todays_balance_anywhere():
    """The disagreement the random ledgers found: the over-credit-limit statement counted
    invoices issued after today (the aged balance and the customer pages did not)."""
    today = timezone.localdate()
    c = CustomerFactory(credit_limit=D("100.00"))
    services.invoice_create(
        customer=c,
        number="F-NEXT",
        issue_date=today + 3 * DAY,
        due_date=today + 33 * DAY,
        amount=D("500.00"),
    )
    assert ledger_balances(customer_ids=[c.pk], as_of=today)[c.pk].total == 0
    assert customers_over_credit_limit(user=None) == []
    assert ledger_balances(customer_ids=[c.pk], as_of=today + 3 * DAY)[c.pk].total == D("500.00")


@pytest.mark.django_db
@pytest.mark.clock("2026-11-18T10:00")
def test_a_cancelled_invoice_still_counts_on_the_days_before_its_cancellation(clock):
    """Invoice of 100 issued 1 Oct, due 31 Oct, 40 paid on 20 Oct; cancelled on 28 Nov.
    Before the 28th every computation still shows it as it was (60 owed, overdue after
    31 Oct); from the 28th it no longer counts and the 40 are the customer's credit."""
    customer = CustomerFactory()
    invoice = services.invoice_create(
        customer=customer,
        number="F-MISTYPED",
        issue_date=datetime.date(2026, 10, 1),
        due_date=datetime.date(2026, 10, 31),
        amount=D("100.00"),
    )
    services.payment_record(customer=customer, date=datetime.date(2026, 10, 20), amount=D("40"))
    clock.shift(days=10)
    services.invoice_cancel(invoice=invoice, reason="Mistyped amount")
    today = timezone.localdate()
    assert today == datetime.date(2026, 11, 28)
    expected_totals = {
        datetime.date(2026, 10, 25): (D("60.00"), D("0.00")),
        datetime.date(2026, 11, 18): (D("60.00"), D("60.00")),
        datetime.date(2026, 11, 27): (D("60.00"), D("60.00")),
        today: (D("-40.00"), D("0.00")),
        today + DAY: (D("-40.00"), D("0.00")),
    }
    for as_of, (total, overdue) in expected_totals.items():
        expected = ledger_balances(customer_ids=[customer.pk], as_of=as_of)[customer.pk]
        assert (expected.total, expected.overdue) == (total, overdue), as_of
        qs = Customer.objects.filter(pk=customer.pk)
        for assumed_today in (today, as_of + DAY):
            (annotated_customer,) = with_balances(qs, as_of, today=assumed_today)
            assert annotated(annotated_customer) == figures(expected), (as_of, assumed_today)
            rows = aged_balance(user=None, as_of=as_of, today=assumed_today).rows
            assert tuple(rows[0][f] for f in FIELDS) == figures(expected), (as_of, assumed_today)
        assert kpis.ledger_totals(user=None, as_of=as_of).total == total
