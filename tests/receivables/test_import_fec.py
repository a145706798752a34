"""``manage.py import_fec``: a FEC's customer accounts, its lettering, and every refusal."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from customers.models import Customer
from receivables import services
from receivables.imports.fec import is_sales_journal, parse_fec_date, read_fec
from receivables.imports.parsing import CellError
from receivables.models import Allocation, FecLine, Installment, Invoice, Payment
from receivables.selectors import aged_balance
from tests.factories import CustomerFactory, make_invoice
from tests.receivables.import_helpers import run_command, run_command_failing

pytestmark = pytest.mark.clock("2026-04-02T10:00")

AS_OF = datetime.date(2026, 4, 2)
COLUMNS = [
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
    "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
    "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise",
]  # fmt: skip


def line(journal, num, date, account, debit="0,00", credit="0,00", *, aux="", piece="",
         letter="", date_let="", label="", aux_label=""):  # fmt: skip
    journal_label = {"VE": "Ventes", "BQ": "Banque", "AC": "Achats"}[journal]
    account_label = label or {"411": "Clients", "512": "Banque", "706": "Prestations",
                              "445": "TVA collectée", "401": "Fournisseurs",
                              "607": "Achats"}[account[:3]]  # fmt: skip
    return [journal, journal_label, str(num), date, account, account_label, aux, aux_label,
            piece, date, f"Pièce {piece}", debit, credit, letter, date_let, date, "",
            ""]  # fmt: skip


def books(*, later: bool = False) -> list[list[str]]:
    """Three customers (two with an auxiliary account, one on its own 411 account), a
    fully lettered invoice, a partially lettered one (with a credit note and a payment),
    an unlettered invoice and payment, and a purchase that is not a customer's. The
    ``later`` export letters the third invoice with a new payment."""
    f3_letter, f3_date = ("C", "20260325") if later else ("", "")
    lines = [
        line("VE", 1, "20260110", "41100000", "1200,00", aux="C001", aux_label="Alpha SARL",
             piece="F001", letter="A", date_let="20260215"),
        line("VE", 1, "20260110", "70600000", credit="1000,00", piece="F001"),
        line("VE", 1, "20260110", "44571000", credit="200,00", piece="F001"),
        line("VE", 2, "20260120", "41100000", "600.00", aux="C001", aux_label="Alpha SARL",
             piece="F002", letter="B", date_let="20260310"),
        line("VE", 2, "20260120", "70600000", credit="600.00", piece="F002"),
        line("VE", 3, "20260205", "41100000", "2400,00", aux="C002", aux_label="Béta SA",
             piece="F003", letter=f3_letter, date_let=f3_date),
        line("VE", 3, "20260205", "70600000", credit="2400,00", piece="F003"),
        line("VE", 4, "20260301", "41100000", credit="100,00", aux="C001",
             aux_label="Alpha SARL", piece="AV001", letter="B", date_let="20260310"),
        line("VE", 4, "20260301", "70600000", "100,00", piece="AV001"),
        line("VE", 5, "20251201", "41100050", "500,00", piece="F005", label="CLIENT GAMMA"),
        line("VE", 5, "20251201", "70600000", credit="500,00", piece="F005"),
        line("BQ", 1, "20260215", "51200000", "1200,00", piece="VIR1"),
        line("BQ", 1, "20260215", "41100000", credit="1200,00", aux="C001",
             aux_label="Alpha SARL", piece="VIR1", letter="A", date_let="20260215"),
        line("BQ", 2, "20260310", "51200000", "300,00", piece="VIR2"),
        line("BQ", 2, "20260310", "41100000", credit="300,00", aux="C001",
             aux_label="Alpha SARL", piece="VIR2", letter="B", date_let="20260310"),
        line("BQ", 3, "20260320", "51200000", "50,00", piece="CHQ3"),
        line("BQ", 3, "20260320", "41100050", credit="50,00", piece="CHQ3",
             label="CLIENT GAMMA"),
        line("AC", 1, "20260112", "60700000", "100,00", piece="FA9"),
        line("AC", 1, "20260112", "40100000", credit="100,00", aux="F900", piece="FA9",
             aux_label="Fournisseur"),
    ]  # fmt: skip
    if later:
        lines += [
            line("BQ", 4, "20260325", "51200000", "2400,00", piece="VIR4"),
            line("BQ", 4, "20260325", "41100000", credit="2400,00", aux="C002",
                 aux_label="Béta SA", piece="VIR4", letter="C", date_let="20260325"),
        ]  # fmt: skip
    return lines


def write_fec(tmp_path, lines, *, variant="tab", columns=COLUMNS, name="FEC.txt"):
    """The books as one of the exports seen in the wild: ``tab`` (UTF-8 with a BOM),
    ``pipe`` (Windows-1252, fields padded to a fixed width, a trailing pipe) or ``extra``
    (tab, extra columns at the end, CRLF)."""
    if variant == "tab":
        text = "\n".join("\t".join(cells) for cells in [list(columns), *lines]) + "\n"
        data = "\ufeff".encode() + text.encode("utf-8")
    elif variant == "pipe":
        rows = [list(columns), *lines]
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(columns))]
        text = "\n".join(
            "|".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) + "|" for r in rows
        )
        data = text.encode("cp1252")
    else:
        assert variant == "extra"
        rows = [[*columns, "DateRglt", "ModeRglt"]] + [[*r, "20260101", "VIR"] for r in lines]
        data = ("\r\n".join("\t".join(r) for r in rows) + "\r\n").encode("utf-8")
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(path, *args):
    return run_command("import_fec", path, *args)


def run_failing(path, *args):
    return run_command_failing("import_fec", path, *args)


def snapshot():
    return (
        sorted(Customer.objects.values_list("customer_ref", "name")),
        sorted(Invoice.objects.values_list("number", "kind", "amount", "issue_date")),
        sorted(Payment.objects.values_list("date", "amount", "allocated_amount")),
        sorted(Allocation.objects.values_list("installment_id", "amount", "date")),
        sorted(Installment.objects.values_list("pk", "paid_amount")),
        FecLine.objects.count(),
    )


def aged_rows():
    result = aged_balance(user=None, as_of=AS_OF)
    return {
        row["customer_ref"]: {
            k: row[k] for k in ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus", "total")
        }
        for row in result.rows
    }


def buckets(not_due="0", d1_30="0", d31_60="0", d61_90="0", d90_plus="0"):
    values = {"not_due": not_due, "d1_30": d1_30, "d31_60": d31_60, "d61_90": d61_90,
              "d90_plus": d90_plus}  # fmt: skip
    out = {k: Decimal(v) for k, v in values.items()}
    out["total"] = sum(out.values(), Decimal(0))
    return out


# By hand, as of 2026-04-02, terms 30 days from the piece date:
# C001: F001 (1200) lettered A with VIR1 (1200): closed. F002 (600, due 2026-02-19) lettered
#   B with AV001 (100) and VIR2 (300): 200 open, 42 days late.
# C002: F003 (2400, due 2026-03-07) unlettered: 26 days late.
# 41100050 (no auxiliary account): F005 (500, due 2025-12-31, 92 days late) and an
#   unlettered cheque of 50, unallocated credit.
EXPECTED = {
    "C001": buckets(d31_60="200.00"),
    "C002": buckets(d1_30="2400.00"),
    "41100050": buckets(not_due="-50.00", d90_plus="500.00"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("variant", ["tab", "pipe", "extra"])
def test_import_builds_the_accountants_aged_balance(tmp_path, variant):
    out, err = run(write_fec(tmp_path, books(), variant=variant))

    assert err == ""
    assert "customers created: 3" in out
    assert "invoices created: 4" in out
    assert "credit notes created: 1" in out
    assert "payments created: 3" in out
    assert "lines of other accounts ignored: 11" in out
    assert ("Ignored columns: daterglt, moderglt" in out) == (variant == "extra")
    assert aged_rows() == EXPECTED
    names = dict(Customer.objects.values_list("customer_ref", "name"))
    assert names == {"C001": "Alpha SARL", "C002": "Béta SA", "41100050": "CLIENT GAMMA"}
    f002 = Invoice.objects.get(number="F002")
    assert (f002.issue_date, f002.due_date) == (
        datetime.date(2026, 1, 20),
        datetime.date(2026, 2, 19),
    )
    assert Invoice.objects.get(number="AV001").kind == Invoice.Kind.CREDIT_NOTE
    assert set(Allocation.objects.values_list("date", flat=True)) == {
        datetime.date(2026, 2, 15),
        datetime.date(2026, 3, 10),
    }
    cheque = Payment.objects.get(customer__customer_ref="41100050")
    assert (cheque.amount, cheque.allocated_amount) == (Decimal("50.00"), Decimal("0.00"))


@pytest.mark.django_db
def test_existing_customer_keeps_its_terms_and_name(tmp_path):
    CustomerFactory(customer_ref="C002", name="Beta (CRM)", payment_terms_days=60)

    out, _ = run(write_fec(tmp_path, books()))

    assert "customers created: 2" in out
    f003 = Invoice.objects.get(number="F003")
    assert f003.customer.name == "Beta (CRM)"
    assert f003.due_date == datetime.date(2026, 4, 6)


@pytest.mark.django_db
def test_reimport_changes_nothing(tmp_path):
    path = write_fec(tmp_path, books())
    run(path)
    before = snapshot()

    out, _ = run(write_fec(tmp_path, books(), variant="pipe", name="again.txt"))

    assert snapshot() == before
    assert "invoices created: 0" in out
    assert "customer lines already imported: 8" in out
    assert aged_rows() == EXPECTED


@pytest.mark.django_db
def test_later_export_adds_new_lines_and_applies_new_lettering(tmp_path):
    run(write_fec(tmp_path, books()))
    invoices_before = Invoice.objects.count()

    out, _ = run(write_fec(tmp_path, books(later=True), name="later.txt"))

    assert "payments created: 1" in out
    assert "customer lines already imported: 8" in out
    assert Invoice.objects.count() == invoices_before
    expected = dict(EXPECTED)
    del expected["C002"]  # F003 lettered with VIR4: nothing open
    assert aged_rows() == expected
    allocation = Allocation.objects.get(installment__invoice__number="F003")
    assert (allocation.amount, allocation.date) == (Decimal("2400.00"), datetime.date(2026, 3, 25))


@pytest.mark.django_db
def test_lettering_removed_in_a_later_export_is_released(tmp_path, finance_user):
    """The accountant unletters VIR2 from F002 (group B): Relance opens F002 again for
    what VIR2 paid and VIR2 becomes unallocated credit, as the 411 account now shows;
    a payment allocated otherwise (here by a person) is left alone."""
    run(write_fec(tmp_path, books()))
    gamma_invoice = Invoice.objects.get(number="F005")
    manual = services.payment_record(
        customer=gamma_invoice.customer, date=AS_OF, amount=Decimal("20.00"),
        invoice=gamma_invoice, created_by=finance_user,
    )  # fmt: skip

    def unletter_vir2(cells):
        if cells[8] == "VIR2" and cells[4] == "41100000":
            return [*cells[:13], "", "", *cells[15:]]  # EcritureLet and DateLet emptied
        return cells

    unlettered = [unletter_vir2(cells) for cells in books()]
    path = write_fec(tmp_path, unlettered, name="later.txt")

    out, _ = run(path, "--dry-run")
    assert "amount no longer lettered, released: 300.00" in out
    out, _ = run(path)
    assert "amount no longer lettered, released: 300.00" in out
    f002 = Invoice.objects.get(number="F002").installments.get()
    assert f002.paid_amount == Decimal("100.00")  # the credit note AV001 stays lettered
    reversal = Allocation.objects.get(installment=f002, amount=Decimal("-300.00"))
    assert reversal.date == AS_OF and reversal.reverses.amount == Decimal("300.00")
    expected = dict(EXPECTED)
    expected["C001"] = buckets(not_due="-300.00", d31_60="500.00")
    expected["41100050"] = buckets(not_due="-50.00", d90_plus="480.00")
    assert aged_rows() == expected
    manual.refresh_from_db()
    assert manual.allocated_amount == Decimal("20.00")
    # Imported again, the same export releases nothing more.
    out, _ = run(write_fec(tmp_path, unlettered, name="again.txt"))
    assert "amount no longer lettered, released: 0" in out


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path):
    out, _ = run(write_fec(tmp_path, books()), "--dry-run")

    assert "nothing was written" in out
    assert "invoices created: 4" in out
    assert snapshot() == ([], [], [], [], [], 0)


@pytest.mark.django_db
def test_piece_already_used_by_another_invoice_gets_a_suffix(tmp_path):
    make_invoice(CustomerFactory(customer_ref="OTHER"), number="F003", amount="10.00")

    run(write_fec(tmp_path, books()))

    assert Invoice.objects.get(number="F003-2").customer.customer_ref == "C002"


def replace(lines, index, column, value):
    lines[index][COLUMNS.index(column)] = value
    return lines


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda ls: replace(ls, 0, "PieceDate", "2026-01-10"),
         "line 2: PieceDate: 2026-01-10 is not a date; a FEC writes YYYYMMDD."),
        (lambda ls: replace(ls, 5, "EcritureDate", "20260231"),
         "line 7: EcritureDate: 20260231 is not a real date."),
        (lambda ls: replace(replace(ls, 5, "Debit", "2 400,00x"), 6, "Credit", "1"),
         "line 7: Debit: 2 400,00x is not a valid amount"),
        (lambda ls: replace(replace(ls, 5, "Debit", "99999999999,00"), 6, "Credit",
                            "99999999999,00"),
         "line 7: amount: "),
        (lambda ls: replace(ls, 6, "Credit", "2300,00"),
         "line 7: entry 3 of journal VE does not balance (100.00)."),
        (lambda ls: replace(replace(ls, 12, "Credit", "1200,001"), 11, "Debit", "1200,001"),
         "line 14: Credit: 1200,001 has more than two decimals."),
        (lambda ls: replace(replace(ls, 14, "PieceDate", "20260501"), 13, "PieceDate",
                            "20260501"),
         "line 16: 2026-05-01 is in the future"),
    ],
)  # fmt: skip
def test_bad_lines_are_reported_and_nothing_is_imported(tmp_path, broken, message):
    _, err = run_failing(write_fec(tmp_path, broken(books())))

    assert message in err
    assert snapshot() == ([], [], [], [], [], 0)


@pytest.mark.django_db
def test_every_bad_line_is_reported_at_once(tmp_path):
    lines = replace(replace(books(), 0, "PieceDate", "2026"), 9, "PieceDate", "x")

    exc, err = run_failing(write_fec(tmp_path, lines))

    assert "2 errors found" in str(exc)
    assert err.splitlines() == [
        "line 2: PieceDate: 2026 is not a date; a FEC writes YYYYMMDD.",
        "line 11: PieceDate: x is not a date; a FEC writes YYYYMMDD.",
    ]


@pytest.mark.django_db
def test_missing_columns_are_named(tmp_path):
    columns = [c for c in COLUMNS if c not in ("Debit", "EcritureLet")]
    lines = [[v for c, v in zip(COLUMNS, r, strict=True) if c in columns] for r in books()]

    _, err = run_failing(write_fec(tmp_path, lines, columns=columns))

    assert err.strip() == "Missing FEC columns: Debit, EcritureLet."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        ("JournalCode\tJournalLib\n".encode("utf-16"), "not a text FEC"),
        (b"\x81\x8d\x8f\x90\x9d\tx\n", "neither UTF-8 nor Windows-1252"),
        (b"invoice_number,amount\nF1,10\n", "not a FEC header"),
        ("\t".join(COLUMNS).encode() + b"\n", "a header but no lines"),
        ("\t".join(COLUMNS).encode() + b"\nVE\tVentes\t1\n", "line 2: 3 fields where"),
    ],
)
def test_unreadable_files_are_refused(tmp_path, data, message):
    path = tmp_path / "FEC.txt"
    path.write_bytes(data)

    _, err = run_failing(path)

    assert message in err
    assert FecLine.objects.count() == 0


def test_fec_dates_and_journals():
    assert parse_fec_date("20260229".replace("2026", "2028")) == datetime.date(2028, 2, 29)
    with pytest.raises(CellError):
        parse_fec_date("2026010")
    assert is_sales_journal("VT", "")
    assert is_sales_journal("VE11", "")
    assert is_sales_journal("X1", "Journal des ventes")
    assert not is_sales_journal("BQ", "Banque")


def test_reader_strips_padding_and_tolerates_a_trailing_pipe(tmp_path):
    table = read_fec(write_fec(tmp_path, books(), variant="pipe"))

    assert table.ignored_columns == []
    line_number, row = table.rows[0]
    assert (line_number, row["compauxnum"], row["debit"]) == (2, "C001", "1200,00")


@pytest.mark.django_db
def test_messages_are_translated(tmp_path):
    path = write_fec(tmp_path, replace(books(), 0, "PieceDate", "10/01/2026"))

    err = io.StringIO()
    with translation.override("fr"), pytest.raises(CommandError) as info:
        call_command("import_fec", str(path), stdout=io.StringIO(), stderr=err)

    assert "rien n'a été importé" in str(info.value)
    assert (
        "ligne 2\u00a0: PieceDate: 10/01/2026 n'est pas une date\u00a0; un FEC écrit AAAAMMJJ."
        in err.getvalue()
    )


@pytest.mark.django_db
def test_a_line_changed_since_its_import_is_refused(tmp_path):
    run(write_fec(tmp_path, books()))
    before = snapshot()
    lines = replace(replace(books(later=True), 0, "Debit", "1250,00"), 1, "Credit", "1050,00")

    _, err = run_failing(write_fec(tmp_path, lines, name="later.txt"))

    assert err.strip() == (
        "line 2: this line was imported before as C001 1200.00; the file now says C001 1250.00: "
        "correct the ledger by hand, then import again."
    )
    assert snapshot() == before


@pytest.mark.django_db
def test_an_unlettered_credit_note_stays_unallocated_credit(tmp_path):
    lines = [r for r in books() if r[COLUMNS.index("PieceRef")] != "AV001"]
    lines += [
        line("VE", 6, "20260325", "41100000", credit="240,00", aux="C002",
             aux_label="Béta SA", piece="AV002"),
        line("VE", 6, "20260325", "70600000", "240,00", piece="AV002"),
    ]  # fmt: skip

    run(write_fec(tmp_path, lines))

    assert aged_rows()["C002"] == buckets(not_due="-240.00", d1_30="2400.00")
    assert not Allocation.objects.filter(credit_note__number="AV002").exists()


@pytest.mark.django_db
def test_a_line_imported_meanwhile_is_refused_on_its_line(tmp_path):
    """The FEC lines are written together: one another import of the same books wrote
    between the validation and the writing is still reported on its own line."""
    from django.db import transaction

    from receivables.imports.base import ImportAborted
    from receivables.imports.fec import FecImporter

    importer = FecImporter()
    plan, errors = importer.validate(read_fec(write_fec(tmp_path, books())))
    assert not errors
    payment = next(r for r in plan.new_rows if r.kind == "payment")
    FecLine.objects.create(key=payment.key, invoice=make_invoice(number="OTHER"))
    before = snapshot()

    with pytest.raises(ImportAborted) as info, transaction.atomic():
        importer.apply(plan)

    assert info.value.error.line == payment.line
    assert "the database refused the write" in info.value.error.message
    assert snapshot() == before
