"""``manage.py import_invoices``: good files, idempotence, dry run, every refusal."""

import datetime
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import load_command_class

from customers.models import Contact, Customer
from receivables.models import Installment, Invoice
from tests.factories import ContactFactory, CustomerFactory, make_invoice, make_user
from tests.receivables.import_helpers import run_command, run_command_failing, write_csv

HEADER = (
    "customer_ref,customer_name,invoice_number,issue_date,due_date,amount,"
    "currency,po_number,customer_email,sales_rep"
)
ROOT = Path(__file__).resolve().parents[2]


def csv_file(tmp_path, lines, *, name="invoices.csv", header=HEADER, bom=False, sep=","):
    return write_csv(tmp_path, lines, header=header, name=name, bom=bom, sep=sep)


def run(path, *args):
    return run_command("import_invoices", path, *args)


def run_failing(path, *args):
    return run_command_failing("import_invoices", path, *args)


def snapshot():
    """Everything an import may write, to prove a refused import wrote nothing."""
    return (
        sorted(Customer.objects.values_list("customer_ref", "name", "sales_rep_id")),
        sorted(Contact.objects.values_list("customer_id", "email", "reminder_role")),
        sorted(Invoice.objects.values_list("number", "amount", "issue_date", "due_date")),
        Installment.objects.count(),
    )


GOOD = [
    "411ACME,ACME SAS,F2026-001,2026-01-15,2026-02-14,1200.00,EUR,PO-77,compta@acme.fr,rep1",
    "411ACME,ACME SAS,F2026-002,2026-01-20,2026-02-19,300.50,,,compta@acme.fr,",
    "411BETA,Beta SARL,F2026-003,2026-01-21,2026-03-21,99.99,eur,,,",
]


@pytest.fixture
def rep(db):
    return make_user("sales", "rep1")


def test_good_comma_csv_creates_customers_contacts_and_invoices(tmp_path, rep):
    out, err = run(csv_file(tmp_path, GOOD))
    assert err == ""
    assert "customers created: 2" in out
    assert "invoices created: 3" in out
    assert "invoices unchanged: 0" in out
    assert "contacts created: 1" in out
    assert "contacts updated: 0" in out

    acme = Customer.objects.get(customer_ref="411ACME")
    assert acme.name == "ACME SAS"
    assert acme.sales_rep == rep
    assert Customer.objects.get(customer_ref="411BETA").sales_rep is None
    contact = Contact.objects.get(customer=acme)
    assert (contact.email, contact.reminder_role) == ("compta@acme.fr", "to")

    invoice = Invoice.objects.get(number="F2026-001")
    assert invoice.customer == acme
    assert invoice.amount == Decimal("1200.00")
    assert (invoice.issue_date, invoice.due_date) == (
        datetime.date(2026, 1, 15),
        datetime.date(2026, 2, 14),
    )
    assert (invoice.currency, invoice.po_number) == ("EUR", "PO-77")
    [installment] = invoice.installments.all()
    assert (installment.due_date, installment.amount) == (invoice.due_date, invoice.amount)
    assert Invoice.objects.get(number="F2026-003").currency == "EUR"  # "eur" in the file


def test_semicolon_csv_with_bom_and_french_formats(tmp_path, db):
    lines = [
        "411ACME;ACME SAS;F1;15/01/2026;14/02/2026;1 234,56;;;;",
        "411ACME;ACME SAS;F2;2026-01-16;2026-02-15;1\u202f000\u202f000,5;;;;",
        "411ACME;ACME SAS;F3;16/01/2026;15/02/2026;42;;;;",
    ]
    header = (
        "\ufeffCustomer_Ref , Customer_Name,Invoice_Number,Issue_Date,Due_Date,AMOUNT,"
        "currency,po_number,customer_email,sales_rep"
    )
    path = csv_file(tmp_path, lines, header=header, bom=False, sep=";")
    out, _err = run(path)
    assert "invoices created: 3" in out
    amounts = dict(Invoice.objects.values_list("number", "amount"))
    assert amounts == {
        "F1": Decimal("1234.56"),
        "F2": Decimal("1000000.50"),
        "F3": Decimal("42.00"),
    }
    assert Invoice.objects.get(number="F1").due_date == datetime.date(2026, 2, 14)


def test_bom_csv_with_only_required_columns(tmp_path, db):
    header = "customer_ref,customer_name,invoice_number,issue_date,due_date,amount"
    path = csv_file(tmp_path, ["411A,A SA,F1,2026-01-01,2026-01-31,10"], header=header, bom=True)
    out, _err = run(path)
    assert "invoices created: 1" in out
    assert Invoice.objects.get().currency == "EUR"


def test_xlsx_with_real_dates_and_numbers(tmp_path, rep):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(
        [
            "411X",
            "X SA",
            1001,
            datetime.date(2026, 1, 15),
            datetime.date(2026, 2, 14),
            1234.56,
            "EUR",
            None,
            "a@x.fr",
            "rep1",
        ]
    )
    sheet.append(
        ["411X", "X SA", "F-2", "15/01/2026", "2026-03-01", "1 000,10", None, None, None, None]
    )
    path = tmp_path / "invoices.xlsx"
    workbook.save(path)
    out, _err = run(path)
    assert "invoices created: 2" in out
    invoice = Invoice.objects.get(number="1001")
    assert invoice.amount == Decimal("1234.56")
    assert invoice.due_date == datetime.date(2026, 2, 14)
    assert Invoice.objects.get(number="F-2").amount == Decimal("1000.10")
    assert Customer.objects.get().sales_rep == rep


def test_reimport_changes_nothing(tmp_path, rep):
    path = csv_file(tmp_path, GOOD)
    run(path)
    before = snapshot()
    out, err = run(path)
    assert err == ""
    assert "customers created: 0" in out
    assert "invoices created: 0" in out
    assert "invoices unchanged: 3" in out
    assert "contacts created: 0" in out
    assert "contacts updated: 0" in out
    assert snapshot() == before


def test_dry_run_writes_nothing_and_reports(tmp_path, rep):
    out, _err = run(csv_file(tmp_path, GOOD), "--dry-run")
    assert "Dry run" in out
    assert "invoices created: 3" in out
    assert "customers created: 2" in out
    assert snapshot() == ([], [], [], 0)


def test_existing_customer_gets_contact_updated_and_sales_rep_set(tmp_path, rep):
    customer = CustomerFactory(customer_ref="411ACME", name="Acme (old name)")
    old = ContactFactory(customer=customer, email="old@acme.fr", reminder_role="to")
    out, _err = run(csv_file(tmp_path, GOOD[:1]))
    assert "customers created: 0" in out
    assert "customers whose sales rep changed: 1" in out
    assert "contacts updated: 1" in out
    assert "contacts created: 0" in out
    customer.refresh_from_db()
    assert customer.sales_rep == rep
    assert customer.name == "Acme (old name)"  # the ledger's name wins
    assert list(customer.contacts.values_list("pk", "email")) == [(old.pk, "compta@acme.fr")]


def test_existing_contact_with_same_email_is_not_duplicated(tmp_path, rep):
    customer = CustomerFactory(customer_ref="411ACME")
    ContactFactory(customer=customer, email="COMPTA@acme.fr", reminder_role="to")
    cc = ContactFactory(
        customer=CustomerFactory(customer_ref="411BETA"), email="b@beta.fr", reminder_role="cc"
    )
    lines = [GOOD[0], "411BETA,Beta SARL,F9,2026-01-21,2026-03-21,1,,,b@beta.fr,"]
    out, _err = run(csv_file(tmp_path, lines))
    assert "contacts created: 0" in out
    assert "contacts updated: 1" in out  # the cc contact now receives the reminders
    assert customer.contacts.count() == 1
    cc.refresh_from_db()
    assert cc.reminder_role == "to"


def test_import_runs_a_fixed_number_of_lookup_queries(tmp_path, rep, django_assert_max_num_queries):
    customers = [CustomerFactory(customer_ref=f"411C{i}") for i in range(5)]
    for customer in customers:
        ContactFactory(customer=customer, reminder_role="to")
    lines = [
        f"411C{i % 8},Client {i % 8},F{i:04d},2026-01-01,2026-02-01,{i}.10,,,c{i % 8}@x.fr,rep1"
        for i in range(40)
    ]
    with django_assert_max_num_queries(6):
        run(csv_file(tmp_path, lines), "--dry-run")


# --- refusals ----------------------------------------------------------------------------

VALID_ROW = "411OK,OK SA,F-OK,2026-01-01,2026-01-31,10.00,,,,"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "411A,A SA,F1,31/02/2026,2026-03-31,10,,,,",
            "line 3: issue_date: 31/02/2026 is not a valid date.",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-02-30,10,,,,",
            "line 3: due_date: 2026-02-30 is not a valid date.",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,12.3.4,,,,",
            "line 3: amount: 12.3.4 is not a valid amount",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,10.123,,,,",
            "line 3: amount: 10.123 has more than two decimals.",
        ),
        ("411A,A SA,F1,2026-01-01,2026-01-31,-10.00,,,,", "line 3: amount: -10.00 is negative"),
        (
            "411A,A SA,F1,2026-02-01,2026-01-31,10,,,,",
            "line 3: due_date 2026-01-31 is before issue_date 2026-02-01.",
        ),
        (
            "411A,A SA,F-OK,2026-01-01,2026-01-31,10,,,,",
            "line 3: invoice number F-OK appears twice in the file (first on line 2).",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,10,,,not-an-email,",
            "line 3: customer_email: not-an-email is not a valid email address.",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,10,,,,ghost",
            "line 3: sales_rep: unknown user ghost.",
        ),
        (
            ",A SA,F1,2026-01-01,2026-01-31,10,,,,",
            "line 3: missing value in required column customer_ref.",
        ),
        ("411A,A SA,F1,,2026-01-31,10,,,,", "line 3: missing value in required column issue_date."),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,10,EURO,,,",
            "line 3: currency: EURO is not a currency code",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,10,usd,,,",
            "line 3: currency: USD is not accepted: the ledger is kept in EUR only.",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,10,,,,,extra",
            "line 3: the row has more values than the header has columns.",
        ),
        (
            '411A,"=HYPERLINK(""http://evil.example"",""Acme"")",F1,2026-01-01,2026-01-31,10,,,,',
            "line 3: customer_name starts with =: a spreadsheet would run it as a formula",
        ),
        (
            "411A,A SA,@SUM(1+1)*cmd,2026-01-01,2026-01-31,10,,,,",
            "line 3: invoice_number starts with @: a spreadsheet would run it as a formula",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,10,,+33 PO,,",
            "line 3: po_number starts with +: a spreadsheet would run it as a formula",
        ),
        (
            "411A,A SA,F1,2026-01-01,9999-12-31,10,,,,",
            "line 3: issue_date: The due date 9999-12-31 is more than a year after the issue date.",
        ),
        (
            "411A,A SA,F1,2026-01-01,2026-01-31,99999999999999999999,,,,",
            "line 3: amount: 99999999999999999999 is too large",
        ),
    ],
)
def test_bad_row_is_reported_with_its_line_and_nothing_is_imported(tmp_path, db, row, message):
    before = snapshot()
    exc, err = run_failing(csv_file(tmp_path, [VALID_ROW, row]))
    assert message in err
    assert any(message.startswith(str(e)) or str(e).startswith(message) for e in exc.errors)
    assert "1 error found: nothing was imported." in str(exc)
    assert snapshot() == before


def test_a_date_in_year_1_is_refused_with_its_line(tmp_path, db):
    _exc, err = run_failing(
        csv_file(tmp_path, [VALID_ROW, "411A,A SA,F1,0001-01-01,2001-01-31,10,,,,"])
    )
    assert "line 3: 0001-01-01 is more than a year ago" in err
    assert "Traceback" not in err
    assert snapshot() == ([], [], [], 0)


def test_a_file_over_50_mb_is_refused_before_it_is_read(tmp_path, db):
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:  # sparse: 50 MB and one byte without writing them
        f.write((HEADER + "\n").encode())
        f.truncate(50 * 1024 * 1024 + 1)
    exc, err = run_failing(path)
    assert "The file is larger than 50 MB; split it." in err
    assert len(exc.errors) == 1 and snapshot() == ([], [], [], 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        ((HEADER + "\n").encode(), "The file has a header but no data rows."),
        (bytes(range(256)) * 8, "This is a binary file, not a CSV or XLSX file."),
        (
            (HEADER + "\n" + "411A,Société,F1,2026-01-01,2026-01-31,1,,,,\n").encode("latin-1"),
            "not UTF-8 text",
        ),
        (
            b"customer_ref,customer_name,invoice_number,issue_date\n411A,A,F1,2026-01-01\n",
            "line 1: missing required column(s): due_date, amount",
        ),
    ],
)
def test_unusable_file_is_refused_with_a_clear_error(tmp_path, db, content, message):
    path = tmp_path / "invoices.csv"
    path.write_bytes(content)
    exc, err = run_failing(path)
    assert message in err
    assert len(exc.errors) == 1
    assert snapshot() == ([], [], [], 0)


def test_every_bad_row_is_reported_at_once_in_file_order(tmp_path, db):
    lines = [
        "411A,A SA,F1,31/02/2026,2026-03-31,1x,,,bad@,ghost",  # line 2: 4 problems
        VALID_ROW,  # line 3
        "411B,B SA,F3,2026-01-05,2026-01-01,5,,,,",  # line 4
        "411B,B SA,F-OK,2026-01-05,2026-01-06,5,,,,",  # line 5
    ]
    exc, err = run_failing(csv_file(tmp_path, lines))
    assert err.splitlines() == [
        "line 2: issue_date: 31/02/2026 is not a valid date.",
        "line 2: amount: 1x is not a valid amount; write 1234.56, 1234,56 or 1 234,56.",
        "line 2: customer_email: bad@ is not a valid email address.",
        "line 2: sales_rep: unknown user ghost.",
        "line 4: due_date 2026-01-01 is before issue_date 2026-01-05.",
        "line 5: invoice number F-OK appears twice in the file (first on line 3).",
    ]
    assert len(exc.errors) == 6
    assert "6 errors found: nothing was imported." in str(exc)
    assert snapshot() == ([], [], [], 0)


def test_invoice_of_another_customer_is_refused(tmp_path, db):
    other = CustomerFactory(customer_ref="411OTHER", name="Other SA")
    make_invoice(other, number="F1", amount="10.00")
    before = snapshot()
    _exc, err = run_failing(
        csv_file(tmp_path, [VALID_ROW, "411A,A SA,F1,2026-01-01,2026-01-31,10,,,,"])
    )
    assert "line 3: invoice F1 already exists for another customer, Other SA (411OTHER)." in err
    assert snapshot() == before


def test_existing_invoice_with_different_data_says_what_differs(tmp_path, db):
    customer = CustomerFactory(customer_ref="411A")
    make_invoice(
        customer,
        number="F1",
        issue_date=datetime.date(2026, 1, 1),
        due_date=datetime.date(2026, 1, 31),
        amount="10.00",
    )
    before = snapshot()
    _exc, err = run_failing(csv_file(tmp_path, ["411A,A SA,F1,2026-01-01,2026-02-28,12.50,,,,"]))
    assert (
        "line 2: invoice F1 already exists with different data: amount is 10.00 in the "
        "database but 12.50 in the file; due date is 2026-01-31 in the database but "
        "2026-02-28 in the file." in err
    )
    assert snapshot() == before


def test_existing_identical_invoice_is_unchanged(tmp_path, db):
    customer = CustomerFactory(customer_ref="411A")
    make_invoice(
        customer,
        number="F1",
        issue_date=datetime.date(2026, 1, 1),
        due_date=datetime.date(2026, 1, 31),
        amount="10.00",
    )
    out, _err = run(csv_file(tmp_path, ['411A,A SA,F1,01/01/2026,31/01/2026,"10,00",EUR,,,']))
    assert "invoices unchanged: 1" in out
    assert Invoice.objects.count() == 1


def test_conflicting_emails_for_one_customer_are_refused(tmp_path, db):
    lines = [
        "411A,A SA,F1,2026-01-01,2026-01-31,10,,,one@a.fr,",
        "411A,A SA,F2,2026-01-01,2026-01-31,10,,,two@a.fr,",
    ]
    _exc, err = run_failing(csv_file(tmp_path, lines))
    assert "line 3: customer_email: customer 411A has the email one@a.fr on line 2" in err


def test_another_currency_is_refused_with_its_line_and_nothing_is_imported(tmp_path, rep):
    """The ledger keeps one currency: a GBP row stops the whole file, by its line."""
    lines = [*GOOD[:2], "411BETA,Beta SARL,F2026-003,2026-01-21,2026-03-21,99.99,GBP,,,"]
    before = snapshot()
    exc, err = run_failing(csv_file(tmp_path, lines))
    assert err.strip() == "line 4: currency: GBP is not accepted: the ledger is kept in EUR only."
    assert "1 error found: nothing was imported." in str(exc)
    assert snapshot() == before


def test_inactive_sales_rep_is_refused(tmp_path, db):
    user = make_user("sales", "gone")
    user.is_active = False
    user.save()
    _exc, err = run_failing(csv_file(tmp_path, ["411A,A SA,F1,2026-01-01,2026-01-31,10,,,,gone"]))
    assert "line 2: sales_rep: user gone is inactive." in err


def test_a_refusal_while_writing_rolls_everything_back(tmp_path, db, monkeypatch):
    from receivables.services import invoices as ledger

    real = ledger._checked

    def flaky(entry, **kwargs):
        if entry.number == "F2026-003":
            raise ValidationError("Refused by the ledger.")
        return real(entry, **kwargs)

    monkeypatch.setattr(ledger, "_checked", flaky)
    make_user("sales", "rep1")
    _exc, err = run_failing(csv_file(tmp_path, GOOD))
    assert "line 4: Refused by the ledger." in err
    assert snapshot() == ([], [], [], 0)


def test_help_renders():
    command = load_command_class("receivables", "import_invoices")
    text = command.create_parser("manage.py", "import_invoices").format_help()
    assert "--dry-run" in text
    assert "customer_email" in text


def _subprocess_env():
    env = dict(os.environ)
    env.update({"SECRET_KEY": "test-only-subprocess-key-" + "x" * 30, "LANGUAGE_CODE": "en"})
    return env


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"customer_ref;customer_name;amount\n411A;A;1\n",
            "line 1: missing required column(s): invoice_number, issue_date, due_date",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary file"),
    ],
)
def test_manage_py_exits_1_without_traceback(tmp_path, content, message):
    path = tmp_path / "invoices.csv"
    path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "import_invoices", str(path)],
        cwd=ROOT,
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert (
        result.stderr.strip().splitlines()[-1]
        == "CommandError: 1 error found: nothing was imported."
    )


# --- written in batches ---------------------------------------------------------------


def many_lines(count: int, *, prefix: str = "B") -> list[str]:
    """``count`` new invoices of ``count // 3 + 1`` new customers, each with an email."""
    return [
        f"{prefix}C{n // 3},Client {n // 3},{prefix}-{n:04d},2026-10-{1 + n % 28:02d},"
        f"2026-11-{1 + n % 28:02d},{100 + n}.{n % 100:02d},EUR,PO-{n},c{n // 3}@example.com,"
        for n in range(count)
    ]


def count_queries(path) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run(path)
    return len(queries)


@pytest.mark.django_db
def test_the_queries_of_an_import_do_not_grow_with_its_rows(tmp_path):
    """10 rows or 200 (one batch): the same queries; each invoice has its installment,
    and the stored figures equal the ledger. (A first import sets up the day's figures
    and the company profile.)"""
    from tests.receivables.test_figures import assert_figures_match_the_ledger

    run(csv_file(tmp_path, many_lines(1, prefix="W"), name="first.csv"))
    few = count_queries(csv_file(tmp_path, many_lines(10, prefix="F"), name="few.csv"))
    many = count_queries(csv_file(tmp_path, many_lines(200, prefix="M"), name="many.csv"))

    assert many == few
    assert Invoice.objects.count() == 211
    assert Installment.objects.filter(sequence=1).count() == 211
    assert Invoice.objects.get(number="M-0199").installments.get().amount == Decimal("299.99")
    assert_figures_match_the_ledger()


@pytest.mark.django_db
def test_the_invoices_are_written_batch_by_batch_with_progress(tmp_path, monkeypatch):
    from receivables.imports.invoices import InvoiceImporter
    from receivables.imports.reader import read_table
    from receivables.services import invoices as ledger
    from tests.receivables.test_figures import assert_figures_match_the_ledger

    monkeypatch.setattr(ledger, "CREATE_BATCH", 7)
    importer = InvoiceImporter()
    ticks: list[int] = []
    importer.progress = ticks.append
    table = read_table(
        csv_file(tmp_path, many_lines(20)), required=importer.required, optional=importer.optional
    )
    plan, errors = importer.validate(table)
    assert not errors
    from receivables import figures

    with figures.batch():
        importer.apply(plan)

    assert ticks == [0, 7, 14, 20]
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"B-{n:04d}" for n in range(20)
    ]
    assert Installment.objects.count() == 20
    assert_figures_match_the_ledger()


def _validated(tmp_path, lines):
    from receivables.imports.invoices import InvoiceImporter
    from receivables.imports.reader import read_table

    importer = InvoiceImporter()
    table = read_table(
        csv_file(tmp_path, lines), required=importer.required, optional=importer.optional
    )
    plan, errors = importer.validate(table)
    assert not errors
    return importer, plan


@pytest.mark.django_db
def test_a_rule_refusing_a_row_while_writing_names_its_line(tmp_path):
    """The ceiling lowered between the validation and the writing: the service's own
    check refuses the row above it, on its line, and nothing stays written."""
    from django.db import transaction

    from receivables.imports.base import ImportAborted
    from receivables.models import CompanyProfile

    importer, plan = _validated(tmp_path, many_lines(12))
    profile = CompanyProfile.get()
    profile.max_amount = Decimal("110.00")  # line 12 (B-0010) is 110.10
    profile.save()
    before = snapshot()

    with pytest.raises(ImportAborted) as info, transaction.atomic():
        importer.apply(plan)

    assert info.value.error.line == 12
    assert "above the largest amount" in info.value.error.message
    assert snapshot() == before


@pytest.mark.django_db
def test_a_number_written_meanwhile_is_refused_on_its_line(tmp_path):
    """Another import wrote one of the numbers between the validation and the writing:
    the database refuses the batch, and the row is still reported on its own line."""
    from django.db import transaction

    from receivables.imports.base import ImportAborted

    importer, plan = _validated(tmp_path, many_lines(12))
    make_invoice(number="B-0007")
    before = snapshot()

    with pytest.raises(ImportAborted) as info, transaction.atomic():
        importer.apply(plan)

    assert info.value.error.line == 9
    assert "the database refused the write" in info.value.error.message
    assert snapshot() == before
