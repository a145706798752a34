"""``manage.py import_payments``: allocation, idempotence, dry run, every refusal."""

import datetime
from decimal import Decimal

import openpyxl
import pytest

from receivables import services
from receivables.imports.payments import import_key
from receivables.models import Allocation, Installment, Payment
from tests.factories import CustomerFactory, make_invoice, unallocated_credit
from tests.receivables.import_helpers import run_command, run_command_failing, write_csv

HEADER = "invoice_number,payment_date,amount,reference,method"


def csv_file(tmp_path, lines, *, name="payments.csv", header=HEADER, bom=False, sep=","):
    return write_csv(tmp_path, lines, header=header, name=name, bom=bom, sep=sep)


def run(path, *args):
    return run_command("import_payments", path, *args)


def run_failing(path, *args):
    return run_command_failing("import_payments", path, *args)


def snapshot():
    return (
        sorted(Payment.objects.values_list("amount", "allocated_amount", "import_key")),
        sorted(Allocation.objects.values_list("installment_id", "amount")),
        sorted(Installment.objects.values_list("pk", "paid_amount")),
    )


@pytest.fixture
def ledger(db):
    """A customer with an older invoice in two halves and a newer single invoice."""
    customer = CustomerFactory(customer_ref="411ACME")
    halves = make_invoice(
        customer, number="F1", issue_date=datetime.date(2026, 1, 1),
        due_date=datetime.date(2026, 1, 31), amount="1000.00", plan="50_50",
    )  # fmt: skip
    single = make_invoice(
        customer, number="F2", issue_date=datetime.date(2025, 12, 1),
        due_date=datetime.date(2025, 12, 31), amount="300.00",
    )  # fmt: skip
    return customer, halves, single


def test_payment_pays_the_named_invoice_oldest_installment_first(tmp_path, ledger):
    customer, halves, single = ledger
    out, err = run(csv_file(tmp_path, ["F1,2026-02-10,600.00,VIR 123,virement"]))
    assert err == ""
    assert "payments created: 1" in out
    assert "amount allocated to invoices: 600.00" in out
    assert "amount left as unallocated credit: 0.00" in out
    first, second = halves.installments.order_by("due_date")
    assert (first.paid_amount, second.paid_amount) == (Decimal("500.00"), Decimal("100.00"))
    assert single.installments.get().paid_amount == Decimal("0.00")  # older, but not named
    payment = Payment.objects.get()
    assert (payment.customer, payment.date, payment.amount) == (
        customer,
        datetime.date(2026, 2, 10),
        Decimal("600.00"),
    )
    assert (payment.method, payment.reference) == ("transfer", "VIR 123")
    assert payment.import_key == import_key(
        number="F1", date=datetime.date(2026, 2, 10), amount=Decimal("600.00"),
        reference="VIR 123", method="transfer", occurrence=1,
    )  # fmt: skip


def test_overpayment_leaves_unallocated_credit(tmp_path, ledger):
    customer, halves, _single = ledger
    lines = ["F1,2026-02-10,400,,cheque", 'F1,2026-02-20,"700,50",,carte']
    out, _err = run(csv_file(tmp_path, lines))
    assert "payments created: 2" in out
    assert "amount allocated to invoices: 1000.00" in out
    assert "amount left as unallocated credit: 100.50" in out
    assert all(i.paid_amount == i.amount for i in halves.installments.all())
    later = Payment.objects.get(date=datetime.date(2026, 2, 20))
    assert (later.method, later.allocated_amount) == ("card", Decimal("600.00"))
    assert unallocated_credit(customer) == Decimal("100.50")


def test_semicolon_bom_csv_with_french_methods(tmp_path, ledger):
    lines = [
        "F1;10/02/2026;1 000,00;;Prélèvement",
        "F2;11/02/2026;100;CHQ 9;chèque",
        "F2;12/02/2026;50;;",
    ]
    out, _err = run(csv_file(tmp_path, lines, bom=True, sep=";"))
    assert "payments created: 3" in out
    methods = sorted(Payment.objects.values_list("method", flat=True))
    assert methods == ["cheque", "direct_debit", "transfer"]


def test_xlsx_payments(tmp_path, ledger):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["F2", datetime.date(2026, 2, 1), 120.5, "VIR 1", "transfer"])
    path = tmp_path / "payments.xlsx"
    workbook.save(path)
    out, _err = run(path)
    assert "payments created: 1" in out
    assert Payment.objects.get().amount == Decimal("120.50")


def test_reimport_creates_nothing_and_identical_rows_stay_distinct(tmp_path, ledger):
    lines = ["F2,2026-02-01,50,,", "F2,2026-02-01,50,,", "F1,2026-02-01,10,REF,card"]
    path = csv_file(tmp_path, lines)
    out, _err = run(path)
    assert "payments created: 3" in out
    assert Payment.objects.count() == 3  # two identical payments are two payments
    before = snapshot()
    out, _err = run(path)
    assert "payments created: 0" in out
    assert "payments unchanged: 3" in out
    assert snapshot() == before
    # A third identical row later is a new payment; the first two are recognised.
    out, _err = run(csv_file(tmp_path, [*lines, "F2,2026-02-01,50,,"]))
    assert "payments created: 1" in out
    assert "payments unchanged: 3" in out


def test_dry_run_writes_nothing(tmp_path, ledger):
    before = snapshot()
    out, _err = run(csv_file(tmp_path, ["F1,2026-02-10,1200,,"]), "--dry-run")
    assert "Dry run" in out
    assert "payments created: 1" in out
    assert "amount allocated to invoices: 1000.00" in out
    assert "amount left as unallocated credit: 200.00" in out
    assert snapshot() == before


VALID_ROW = "F2,2026-02-01,10,,"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("F404,2026-02-01,10,,", "line 3: unknown invoice F404."),
        ("F1,31/02/2026,10,,", "line 3: payment_date: 31/02/2026 is not a valid date."),
        ("F1,2026-02-01,ten,,", "line 3: amount: ten is not a valid amount"),
        ("F1,2026-02-01,0,,", "line 3: amount: 0.00; a payment amount must be positive."),
        ("F1,2026-02-01,-5,,", "line 3: amount: -5.00; a payment amount must be positive."),
        ("F1,2026-02-01,1.001,,", "line 3: amount: 1.001 has more than two decimals."),
        ("F1,2026-02-01,10,,bitcoin", "line 3: method: bitcoin is not a payment method"),
        (",2026-02-01,10,,", "line 3: missing value in required column invoice_number."),
        ("F1,,10,,", "line 3: missing value in required column payment_date."),
    ],
)
def test_bad_row_is_reported_with_its_line_and_nothing_is_imported(tmp_path, ledger, row, message):
    before = snapshot()
    exc, err = run_failing(csv_file(tmp_path, [VALID_ROW, row]))
    assert message in err
    assert len(exc.errors) == 1
    assert snapshot() == before


def test_cancelled_invoice_and_credit_note_are_refused(tmp_path, ledger):
    customer, halves, _single = ledger
    services.invoice_cancel(invoice=halves, reason="Mistyped")
    services.credit_note_create(
        customer=customer, number="AV1", issue_date=datetime.date(2026, 1, 5), amount=Decimal("10")
    )
    before = snapshot()
    _exc, err = run_failing(
        csv_file(tmp_path, [VALID_ROW, "F1,2026-02-01,10,,", "AV1,2026-02-01,10,,"])
    )
    assert err.splitlines() == [
        "line 3: invoice F1 is cancelled.",
        "line 4: AV1 is a credit note; a payment must name an invoice.",
    ]
    assert snapshot() == before


def test_every_bad_row_is_reported_at_once(tmp_path, ledger):
    lines = [
        "F404,2026-13-01,abc,,cash",  # line 2
        VALID_ROW,  # line 3
        "F1,2026-02-01,-1,,",  # line 4
    ]
    exc, err = run_failing(csv_file(tmp_path, lines))
    assert err.splitlines() == [
        "line 2: payment_date: 2026-13-01 is not a valid date.",
        "line 2: amount: abc is not a valid amount; write 1234.56, 1234,56 or 1 234,56.",
        "line 2: method: cash is not a payment method; use one of transfer, cheque, card, "
        "direct_debit, other.",
        "line 2: unknown invoice F404.",
        "line 4: amount: -1.00; a payment amount must be positive.",
    ]
    assert "5 errors found: nothing was imported." in str(exc)
    assert snapshot() == ([], [], sorted(Installment.objects.values_list("pk", "paid_amount")))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (HEADER.encode() + b"\n", "The file has a header but no data rows."),
        (bytes(range(256)) * 8, "This is a binary file, not a CSV or XLSX file."),
        (
            b"invoice_number;reference\nF1;x\n",
            "line 1: missing required column(s): payment_date, amount",
        ),
    ],
)
def test_unusable_file_is_refused(tmp_path, ledger, content, message):
    path = tmp_path / "payments.csv"
    path.write_bytes(content)
    before = snapshot()
    _exc, err = run_failing(path)
    assert message in err
    assert snapshot() == before


def test_lookups_do_not_grow_with_the_file(tmp_path, ledger, django_assert_max_num_queries):
    lines = [f"F{1 + i % 2},2026-02-01,1.{i:02d},R{i},virement" for i in range(40)]
    with django_assert_max_num_queries(3):
        run(csv_file(tmp_path, lines), "--dry-run")
