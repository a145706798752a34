"""The bank matching queue's services: confirm, split, assign, set aside (and undo); each
refusal changes nothing; two people confirming one line at once make one payment."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import translation

from customers.models import Activity
from receivables import services
from receivables.models import Allocation, BankTransaction, Installment, Payment
from receivables.selectors import aged_balance, ledger_balances
from receivables.selectors.bank import match_queue
from tests.factories import CustomerFactory, make_invoice, make_user, unallocated_credit

DAY = datetime.date(2026, 11, 16)
ISSUED = datetime.date(2026, 10, 1)


def make_line(amount="500.00", *, ref="B1", currency="EUR", **kwargs) -> BankTransaction:
    """A credit the import left waiting in the queue."""
    defaults = {
        "import_key": ref,
        "date": DAY,
        "amount": Decimal(amount),
        "currency": currency,
        "direction": BankTransaction.Direction.CREDIT,
        "bank_reference": ref,
        "remittance": "VIR F-100 F-101",
        "counterparty_name": "ACME",
        "counterparty_iban": "FR7611112222333344445555666",
        "status": BankTransaction.Status.UNMATCHED,
        "status_reason": "several open invoices named: F-100, F-101.",
    }
    return BankTransaction.objects.create(**(defaults | kwargs))


@pytest.fixture
def ledger(db):
    acme = CustomerFactory(customer_ref="411ACME", name="Acme SARL")
    beta = CustomerFactory(customer_ref="411BETA", name="Beta SA")
    invoices = {
        number: make_invoice(
            customer, number=number, issue_date=ISSUED, due_date=ISSUED, amount=amount
        )
        for number, customer, amount in (
            ("F-100", acme, "500.00"),
            ("F-101", acme, "80.00"),
            ("F-200", beta, "250.00"),
        )
    }
    return acme, beta, invoices


def paid(invoice) -> Decimal:
    return sum((i.paid_amount for i in invoice.installments.all()), Decimal(0))


def snapshot():
    return (
        sorted(
            BankTransaction.objects.values_list(
                "pk", "status", "payment_id", "customer_id", "set_aside_reason", "handled_by"
            )
        ),
        sorted(Payment.objects.values_list("pk", "amount", "allocated_amount")),
        sorted(Installment.objects.values_list("pk", "paid_amount")),
        Allocation.objects.count(),
        Activity.objects.count(),
    )


def test_confirm_pays_the_invoice_and_updates_the_balances_at_once(ledger, finance_user):
    acme, _beta, invoices = ledger
    line = make_line("500.00")
    before = aged_balance(user=None, as_of=DAY)
    assert {r["customer_ref"]: r["total"] for r in before.rows}["411ACME"] == Decimal("580.00")

    services.bank_transaction_confirm(
        transaction=line, invoice=invoices["F-100"], user=finance_user
    )

    line.refresh_from_db()
    assert line.status == BankTransaction.Status.MATCHED
    assert line.customer == acme and line.handled_by == finance_user
    payment = line.payment
    assert (payment.customer, payment.date, payment.amount) == (acme, DAY, Decimal("500.00"))
    assert payment.method == Payment.Method.TRANSFER and payment.reference == "B1"
    assert payment.created_by == finance_user
    assert payment.allocated_amount == Decimal("500.00")
    assert paid(invoices["F-100"]) == Decimal("500.00") and paid(invoices["F-101"]) == 0
    assert ledger_balances(customer_ids=[acme.pk], as_of=DAY)[acme.pk].total == Decimal("80.00")
    rows = {r["customer_ref"]: r for r in aged_balance(user=None, as_of=DAY).rows}
    assert rows["411ACME"]["total"] == Decimal("80.00")
    # Out of the queue, on the customer's timeline with who did it.
    assert BankTransaction.objects.awaiting_match().count() == 0
    note = Activity.objects.get(customer=acme)
    assert note.author == finance_user and note.kind == Activity.Kind.PAYMENT
    assert "matched to invoice F-100" in note.summary


def test_confirm_never_allocates_more_than_is_open(ledger, finance_user):
    acme, _beta, invoices = ledger
    line = make_line("100.00")
    services.bank_transaction_confirm(
        transaction=line, invoice=invoices["F-101"], user=finance_user
    )
    assert paid(invoices["F-101"]) == Decimal("80.00")
    assert paid(invoices["F-100"]) == 0  # the rest is not spread over other invoices
    assert unallocated_credit(acme) == Decimal("20.00")
    assert "kept as credit" in Activity.objects.get(customer=acme).summary


def test_split_allocates_one_payment_across_invoices_of_one_customer(ledger, finance_user):
    acme, _beta, invoices = ledger
    line = make_line("560.00")
    services.bank_transaction_split(
        transaction=line,
        allocations={invoices["F-100"]: Decimal("450.00"), invoices["F-101"]: Decimal("80.00")},
        user=finance_user,
    )
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.MATCHED and line.customer == acme
    assert Payment.objects.get() == line.payment
    assert line.payment.amount == Decimal("560.00")
    assert line.payment.allocated_amount == Decimal("530.00")
    assert paid(invoices["F-100"]) == Decimal("450.00")
    assert paid(invoices["F-101"]) == Decimal("80.00")
    assert unallocated_credit(acme) == Decimal("30.00")
    assert "F-100" in Activity.objects.get(customer=acme).summary


def test_assign_gives_the_customer_an_unallocated_payment_and_learns_its_iban(ledger, finance_user):
    acme, _beta, invoices = ledger
    line = make_line("42.00", remittance="merci")
    services.bank_transaction_assign(transaction=line, customer=acme, user=finance_user)
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.MATCHED and line.customer == acme
    assert line.payment.allocated_amount == 0
    assert paid(invoices["F-100"]) == 0 and paid(invoices["F-101"]) == 0
    assert unallocated_credit(acme) == Decimal("42.00")
    assert "assigned" in Activity.objects.get(customer=acme).summary
    # The next credit from that account is proposed Acme's invoice of its amount.
    make_line("80.00", ref="B2", remittance="", counterparty_name="")
    (queued,) = match_queue(user=finance_user)
    assert [p.invoice.number for p in queued.proposals] == ["F-101"]
    assert "IBAN" in queued.proposals[0].reason


def test_set_aside_and_undo(ledger, finance_user):
    line = make_line("12.00", currency="USD")  # another currency may only be set aside
    services.bank_transaction_set_aside(
        transaction=line, reason="  Refund from a supplier ", user=finance_user
    )
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.IGNORED and line.payment is None
    assert line.set_aside_reason == "Refund from a supplier"
    assert line.handled_by == finance_user and line.handled_at is not None
    assert list(BankTransaction.objects.set_aside()) == [line]
    assert BankTransaction.objects.awaiting_match().count() == 0
    assert Payment.objects.count() == 0

    services.bank_transaction_set_aside_undo(transaction=line, user=finance_user)
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.UNMATCHED
    assert line.set_aside_reason == "" and line.handled_by is None
    # The import's own reason why it waits is kept.
    assert line.status_reason.startswith("several open invoices")
    assert list(BankTransaction.objects.awaiting_match()) == [line]


def _refused(call, message: str) -> None:
    before = snapshot()
    with pytest.raises(ValidationError) as info:
        call()
    assert message in " ".join(info.value.messages)
    assert snapshot() == before


def test_every_refusal_changes_nothing(ledger, finance_user):
    acme, beta, invoices = ledger
    line = make_line("300.00")
    user = finance_user

    def confirm(invoice, on=line):
        return lambda: services.bank_transaction_confirm(transaction=on, invoice=invoice, user=user)

    def split(allocations, on=line):
        return lambda: services.bank_transaction_split(
            transaction=on, allocations=allocations, user=user
        )

    # Foreign currency never moves a balance.
    usd = make_line("80.00", ref="U1", currency="USD")
    _refused(confirm(invoices["F-101"], usd), "USD")
    _refused(
        lambda: services.bank_transaction_assign(transaction=usd, customer=acme, user=user),
        "USD",
    )
    # A cancelled invoice, a paid one, a credit note.
    cancelled = make_invoice(acme, number="F-102", issue_date=ISSUED, amount="10.00")
    services.invoice_cancel(invoice=cancelled, reason="duplicate", user=user)
    _refused(confirm(cancelled), "cancelled")
    settled = make_invoice(acme, number="F-103", issue_date=ISSUED, amount="10.00")
    services.payment_record(customer=acme, date=ISSUED, amount=Decimal("10.00"), invoice=settled)
    _refused(confirm(settled), "already paid")
    note = services.credit_note_create(
        customer=acme, number="AV-1", issue_date=ISSUED, amount=Decimal("5.00")
    )
    _refused(confirm(note), "credit note")
    # Splits: another customer's invoice, amounts not positive, beyond what is open or
    # beyond the credit, nothing at all.
    _refused(
        split({invoices["F-100"]: Decimal("100.00"), invoices["F-200"]: Decimal("100.00")}),
        "one customer",
    )
    _refused(split({invoices["F-100"]: Decimal("0.00")}), "must be positive")
    _refused(split({invoices["F-100"]: Decimal("-5.00")}), "must be positive")
    _refused(split({invoices["F-101"]: Decimal("90.00")}), "more than the")
    _refused(
        split({invoices["F-100"]: Decimal("250.00"), invoices["F-101"]: Decimal("80.00")}),
        "more than the",
    )
    _refused(split({}), "at least one invoice")
    # Set aside needs a reason.
    _refused(
        lambda: services.bank_transaction_set_aside(transaction=line, reason="  ", user=user),
        "Say why",
    )
    # A line already handled, whatever the action.
    services.bank_transaction_confirm(transaction=line, invoice=invoices["F-200"], user=user)
    _refused(confirm(invoices["F-100"]), "already handled")
    _refused(split({invoices["F-100"]: Decimal("10.00")}), "already handled")
    _refused(
        lambda: services.bank_transaction_assign(transaction=line, customer=beta, user=user),
        "already handled",
    )
    _refused(
        lambda: services.bank_transaction_set_aside(transaction=line, reason="x", user=user),
        "already handled",
    )
    _refused(
        lambda: services.bank_transaction_set_aside_undo(transaction=line, user=user),
        "not set aside",
    )
    # An outgoing debit or a return is not the queue's.
    debit = make_line("45.00", ref="D1", direction=BankTransaction.Direction.DEBIT)
    _refused(confirm(invoices["F-100"], debit), "incoming credit")


@pytest.mark.parametrize("role", ["sales", "manager"])
def test_only_finance_staff_work_the_queue(ledger, role):
    _acme, _beta, invoices = ledger
    line = make_line()
    with pytest.raises(PermissionDenied):
        services.bank_transaction_confirm(
            transaction=line, invoice=invoices["F-100"], user=make_user(role)
        )
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.UNMATCHED and Payment.objects.count() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_people_confirming_one_line_at_once_make_one_payment():
    """The first confirmation holds the line's lock until it commits; the second waits
    for it, then finds the line handled and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers and ignores SELECT ... FOR UPDATE")
    acme = CustomerFactory(customer_ref="411ACME", name="Acme SARL")
    invoice = make_invoice(acme, number="F-100", issue_date=ISSUED, amount="500.00")
    first_user, second_user = make_user("finance", "f1"), make_user("finance", "f2")
    line = make_line("500.00")
    confirmed, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                services.bank_transaction_confirm(
                    transaction=line, invoice=invoice, user=first_user
                )
                confirmed.set()
                release.wait(timeout=20)  # still holding the lock
            outcomes["first"] = "ok"
        except Exception as exc:  # reported by the test
            outcomes["first"] = exc
        finally:
            confirmed.set()
            connection.close()

    def second():
        try:
            with translation.override("en"):  # each thread has its own language
                services.bank_transaction_confirm(
                    transaction=line, invoice=invoice, user=second_user
                )
            outcomes["second"] = "ok"
        except Exception as exc:  # reported by the test
            outcomes["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert confirmed.wait(timeout=20)
    threads[1].start()
    threads[1].join(timeout=1)
    assert threads[1].is_alive()  # waiting for the first one's lock
    release.set()
    for t in threads:
        t.join(timeout=30)
    assert outcomes["first"] == "ok"
    assert isinstance(outcomes["second"], ValidationError)
    assert "already handled" in outcomes["second"].messages[0]
    assert Payment.objects.count() == 1
    assert paid(invoice) == Decimal("500.00")
    line.refresh_from_db()
    assert line.handled_by == first_user
