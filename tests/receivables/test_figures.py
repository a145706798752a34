"""The stored figures (receivables/figures.py) equal the ledger: after random sequences of
operations through the real services (hypothesis), after imports, on a new day, and
whoever writes at the same time."""

import contextlib
import datetime
import threading
from collections import defaultdict
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from core import access
from core.money import ZERO, to_cents
from customers.models import Customer
from receivables import figures, kpis, services
from receivables.kpis import behaviour
from receivables.models import (
    Allocation,
    CustomerFigures,
    FiguresDay,
    Installment,
    Invoice,
    InvoiceFigures,
    Payment,
    SalesDay,
)
from receivables.selectors import BUCKETS, InvoiceStatus, ledger_balances, with_invoice_status
from receivables.selectors.invoices import status_q
from tests.factories import CustomerFactory, make_invoice, make_user
from tests.receivables.import_helpers import run_command, write_csv
from tests.receivables.test_balance_definition import build, operations

D = Decimal
DAY = datetime.timedelta(days=1)
STORED = (*BUCKETS, "credit", "overdue", "total")
KPI_COLUMNS = ("paid_12m", "late_weight_12m", "on_time_12m", "disputed", *behaviour.STORED)

# Beyond the balance definition's operations: a payment the bank sends back, and an
# invoice's details corrected (its issue date and, on one installment, due date and amount).
return_op = st.tuples(st.just("return"), st.integers(min_value=0, max_value=20))
edit_op = st.tuples(
    st.just("edit"),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=-30, max_value=0),
    st.decimals(min_value=D("0.01"), max_value=D("3000"), places=2),
)
more_operations = st.lists(st.one_of(return_op, edit_op), max_size=4)


def apply_more(ops, today: datetime.date, finance) -> None:
    for op in ops:
        if op[0] == "return":
            payments = list(Payment.objects.filter(returned_on__isnull=True).order_by("pk"))
            if payments:
                with contextlib.suppress(ValidationError):
                    services.payment_return(
                        payment=payments[op[1] % len(payments)], on=today, reason="AM04"
                    )
        else:
            invoices = list(Invoice.objects.invoices().order_by("pk"))
            if invoices:
                invoice = invoices[op[1] % len(invoices)]
                with contextlib.suppress(ValidationError):
                    services.invoice_update(
                        invoice=invoice,
                        user=finance,
                        reason="Typo",
                        issue_date=invoice.issue_date + datetime.timedelta(days=op[2]),
                        amount=op[3],
                    )


def recomputed_invoice_figures() -> dict[int, tuple[Decimal, datetime.date | None]]:
    """Every invoice's figures, from its installments, in Python."""
    left: dict[int, Decimal] = defaultdict(lambda: ZERO)
    next_due: dict[int, datetime.date | None] = {}
    for inst in Installment.objects.all():
        left[inst.invoice_id] += inst.amount - inst.paid_amount
        if inst.paid_amount < inst.amount:
            current = next_due.get(inst.invoice_id)
            next_due[inst.invoice_id] = min(filter(None, [current, inst.due_date]))
    return {pk: (left[pk], next_due.get(pk)) for pk in Invoice.objects.values_list("pk", flat=True)}


def assert_figures_match_the_ledger() -> None:
    """Every stored figure equals its recomputation from the ledger, as it stands, without
    any read having refreshed it first."""
    today = timezone.localdate()
    # The denormalised sums the figures are built on.
    for inst in Installment.objects.annotate(s=Sum("allocations__amount")):
        assert inst.paid_amount == (inst.s or ZERO), inst
    stored_invoices = {
        f.invoice_id: (f.open_amount, f.next_due_date) for f in InvoiceFigures.objects.all()
    }
    assert stored_invoices == recomputed_invoice_figures()
    assert FiguresDay.objects.get().as_of == today
    ids = list(Customer.objects.values_list("pk", flat=True))
    expected = ledger_balances(customer_ids=ids, as_of=today)
    stored = {f.customer_id: f for f in CustomerFigures.objects.all()}
    for pk in ids:
        balance = expected[pk]
        row = stored.get(pk)
        got = tuple(getattr(row, name) if row else ZERO for name in STORED)
        assert got == tuple(getattr(balance, name) for name in STORED), pk
    # Payment behaviour and forecast, per customer, from the allocations and installments.
    everyone = Customer.objects.all()
    sums = {r["customer_id"]: r for r in behaviour.behaviour_sums(everyone, today)}
    sql, params = behaviour.forecast_by_customer_sql(everyone, today)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        forecast = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    for pk in ids:
        row = stored.get(pk)
        got = tuple(getattr(row, name) if row else ZERO for name in KPI_COLUMNS)
        paid = sums.get(pk, {})
        expected_kpis = (
            to_cents(paid.get("paid")),
            to_cents(paid.get("weighted")),
            to_cents(paid.get("on_time")),
            to_cents(forecast.get(pk, {}).get("disputed")),
            *(to_cents(forecast.get(pk, {}).get(c)) for c in behaviour.FORECAST_COLUMNS),
        )
        assert got == expected_kpis, pk


def assert_sales_match_the_invoices(today: datetime.date) -> None:
    """Each day's stored net sales equal its invoices less credit notes (cancelled ones
    left out), and the DSO windows read from them equal those read from the invoices."""
    expected: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    for invoice in Invoice.objects.filter(cancelled_at__isnull=True):
        sign = -1 if invoice.is_credit_note else 1
        expected[invoice.issue_date] += sign * invoice.amount
    stored = dict(SalesDay.objects.values_list("day", "amount"))
    assert stored == dict(expected)
    ends = [today - 200 * DAY, today - 31 * DAY, today, today + 25 * DAY]
    everyone = Customer.objects.all()
    assert kpis.net_sales_at(everyone, ends, whole_ledger=True) == kpis.net_sales_at(
        everyone, ends, whole_ledger=False
    )


def assert_status_filters_select_the_statuses(today: datetime.date) -> None:
    """The invoice list's status filter (conditions the indexes serve) picks exactly the
    invoices whose computed status it names, on several days."""
    for as_of in (today - 40 * DAY, today, today + 40 * DAY):
        annotated = with_invoice_status(Invoice.objects.all(), as_of)
        for status in InvoiceStatus.values:
            by_status = set(annotated.filter(status=status).values_list("pk", flat=True))
            by_filter = set(annotated.filter(status_q(status, as_of)).values_list("pk", flat=True))
            assert by_filter == by_status, (status, as_of)


def assert_manager_kpis_equal_the_computed_ones(user) -> None:
    """The manager's page as read from the stored figures and as computed from the
    ledger: the same figures."""
    today = timezone.localdate()
    stored = kpis.manager_kpis(user=user, as_of=today)
    with mock.patch.object(figures, "is_today", return_value=False):
        computed = kpis.manager_kpis(user=user, as_of=today)
    assert stored == computed


class FiguresFollowTheLedger(HypothesisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.customers = [CustomerFactory(customer_ref=f"S{i}", name=f"S{i}") for i in range(3)]
        cls.finance = make_user(access.FINANCE, "finance_figures")

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ops=operations, more=more_operations)
    def test_stored_figures_equal_the_ledger_after_any_operations(self, ops, more):
        today = timezone.localdate()
        figures.ensure_current()  # the day's roll-over done: from here only the services
        build(ops, self.customers, today, self.finance)
        apply_more(more, today, self.finance)
        assert_figures_match_the_ledger()
        assert_manager_kpis_equal_the_computed_ones(self.finance)
        assert_status_filters_select_the_statuses(today)
        assert_sales_match_the_invoices(today)


@pytest.mark.django_db
def test_a_new_invoice_has_figures_and_its_status_reads_them(finance_user):
    invoice = make_invoice(amount="300.00", plan="30_30_40", issue_date=datetime.date(2026, 9, 1))
    stored = InvoiceFigures.objects.get(invoice=invoice)
    assert (stored.open_amount, stored.next_due_date) == (D("300.00"), datetime.date(2026, 10, 1))
    services.payment_record(
        customer=invoice.customer, date=datetime.date(2026, 10, 5), amount=D("90.00")
    )
    stored.refresh_from_db()
    assert (stored.open_amount, stored.next_due_date) == (D("210.00"), datetime.date(2026, 11, 1))
    assert_figures_match_the_ledger()


@pytest.mark.django_db
@pytest.mark.calendar
def test_the_first_read_or_change_of_a_new_day_moves_every_customers_buckets(clock):
    """Ageing moves with the date: nothing changed in the ledger overnight, yet 40 days
    later the amounts are older. The first change of the day (another customer's) or the
    first read rolls every customer over."""
    today = timezone.localdate()
    aging, other = CustomerFactory(), CustomerFactory()
    make_invoice(aging, issue_date=today - 20 * DAY, due_date=today - 10 * DAY, amount="100")
    figures.ensure_current()
    assert CustomerFigures.objects.get(customer=aging).d1_30 == D("100.00")
    clock.shift(days=40)
    assert FiguresDay.objects.get().as_of == today  # nothing ran overnight
    make_invoice(other, issue_date=timezone.localdate(), amount="5")
    assert_figures_match_the_ledger()
    assert CustomerFigures.objects.get(customer=aging).d31_60 == D("100.00")
    clock.shift(days=30)
    assert figures.ensure_current() == timezone.localdate()
    assert_figures_match_the_ledger()
    assert CustomerFigures.objects.get(customer=aging).d61_90 == D("100.00")


@pytest.mark.django_db
def test_the_roll_over_task_moves_the_day(clock):
    from receivables.tasks import figures_roll_over

    make_invoice(amount="10")
    clock.shift(days=3)
    assert figures_roll_over() == timezone.localdate().isoformat()
    assert_figures_match_the_ledger()


INVOICES = (
    "customer_ref,customer_name,invoice_number,issue_date,due_date,amount,"
    "currency,po_number,customer_email,sales_rep"
)


@pytest.mark.django_db
def test_an_import_refreshes_its_customers_once_at_the_end(tmp_path):
    """40 invoices of 20 customers, then payments for half of them: the figures are right
    and written by two statements per import (invoices, customers), not one per row."""
    figures.ensure_current()
    lines = [
        f"C{n % 20:02d},Client {n % 20},I{n:03d},2026-09-{1 + n % 28:02d},"
        f"2026-10-{1 + n % 28:02d},{100 + n},EUR,,c{n % 20}@example.com,"
        for n in range(40)
    ]
    path = write_csv(tmp_path, lines, header=INVOICES, name="invoices.csv")
    with CaptureQueriesContext(connection) as queries:
        run_command("import_invoices", path)
    writes = [q["sql"] for q in queries if "figures" in q["sql"] and "INSERT" in q["sql"]]
    assert len(writes) == 2, writes
    payments = [f"I{n:03d},2026-11-02,{50 + n},VIR {n},transfer" for n in range(0, 40, 2)]
    path = write_csv(
        tmp_path,
        payments,
        header="invoice_number,payment_date,amount,reference,method",
        name="payments.csv",
    )
    run_command("import_payments", path)
    assert Invoice.objects.count() == 40
    assert Allocation.objects.count() == 20
    assert_figures_match_the_ledger()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_two_payments_of_one_customer_at_the_same_time_leave_right_figures():
    """Two transactions pay two invoices of one customer at the same moment: each
    refresh waits for the other's lock and then reads what it committed, so the stored
    balance counts both payments (without the lock the later refresh, computed from a
    snapshot taken before the other's commit, would overwrite it)."""
    customer = CustomerFactory()
    first = make_invoice(customer, issue_date=datetime.date(2026, 10, 1), amount="100")
    second = make_invoice(customer, issue_date=datetime.date(2026, 10, 2), amount="200")
    figures.ensure_current()
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []
    original = figures._lock

    def lock_when_both_wrote(customer_ids):
        barrier.wait()  # both payments written, neither committed
        original(customer_ids)

    def pay(invoice, amount):
        try:
            services.payment_record(
                customer=customer,
                date=datetime.date(2026, 11, 2),
                amount=D(amount),
                invoice=invoice,
            )
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    figures._lock = lock_when_both_wrote
    try:
        threads = [
            threading.Thread(target=pay, args=(first, "60")),
            threading.Thread(target=pay, args=(second, "70")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        figures._lock = original
    assert not errors, errors
    row = CustomerFigures.objects.get(customer=customer)
    assert row.total == D("170.00")
    assert_figures_match_the_ledger()
