"""Every import command fed files built by hypothesis: valid in shape (the columns, the
XML elements, the FEC layout each command expects), hostile in their cells (dates from
year 1 to 9999 in both formats and garbage, amounts from 0.001 to 10^20 and negative in
both notations, strings with control characters, NUL, RTL marks, emoji, payloads).

The property: the command ends normally (exit 0) or with a ``CommandError`` (exit 1,
its message printed), never with another exception (a traceback); when it refuses,
no row of the ledger changed (all or nothing).
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_invoice, make_reminder_customer
from tests.hostile import strategies as hs
from tests.hostile.ledger import changed, fingerprint
from tests.receivables.test_import_bank import camt, entry
from tests.receivables.test_import_einvoices import BUYER_SIREN, BUYER_VAT, cii, ubl
from tests.receivables.test_import_fec import COLUMNS as FEC_COLUMNS

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

EXAMPLES = 15  # per command, in the developer's loop
SLOW_EXAMPLES = 100  # per command, in CI
NUMBERS = itertools.count()


@pytest.fixture
def ledger(db, settings, tmp_path):
    """A customer with two open invoices the files may name (payments, bank lines)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = make_reminder_customer("411HOST")
    make_invoice(customer, number="H-1", amount="1200.00")
    make_invoice(customer, number="H-2", amount="80.00")
    return tmp_path


def run_hostile(command: str, paths: list[Path], *options: str) -> None:
    """One run in a transaction rolled back afterwards; the property checked."""
    with transaction.atomic():
        before = fingerprint()
        try:
            call_command(
                command, *map(str, paths), *options, stdout=io.StringIO(), stderr=io.StringIO()
            )
        except CommandError as error:
            assert str(error).strip(), f"{command}: a refusal without a message"
            after = fingerprint()
            assert not changed(before, after), (
                f"{command} refused ({error}) but changed {changed(before, after)}"
            )
        transaction.set_rollback(True)


def settings_for(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
        database=None,
    )


# --- cells -------------------------------------------------------------------------------


def cell(kind: str) -> st.SearchStrategy[str]:
    if kind == "date":
        return hs.date_text()
    if kind == "amount":
        return hs.amount_text()
    return hs.hostile_text(300)


def plausible(kind: str, *values: str) -> st.SearchStrategy[str]:
    """A value that passes the parser more often, so the deeper checks are reached too."""
    return st.one_of(st.sampled_from(values), cell(kind)) if values else cell(kind)


def table(columns: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[list[str]]]:
    row = st.tuples(*columns.values()).map(list)
    return st.lists(row, min_size=1, max_size=6).map(lambda rows: [list(columns), *rows])


def write_table(folder: Path, rows: list[list[str]], fmt: str) -> Path:
    path = folder / f"hostile-{next(NUMBERS)}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
    if fmt == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:  # openpyxl refuses control characters: they go in CSVs only
            sheet.append(["".join(c for c in v if c.isprintable() or c == " ") for v in row])
        book.save(path)
    else:
        text = io.StringIO()
        csv.writer(text, delimiter=";" if fmt == "semicolon" else ",").writerows(rows)
        path.write_bytes(
            ("\ufeff" if fmt == "semicolon" else "").encode()
            + text.getvalue().encode("utf-8", "surrogatepass")
        )
    return path


FORMATS = st.sampled_from(["comma", "semicolon", "xlsx"])

INVOICE_COLUMNS = {
    "customer_ref": plausible("text", "411HOST", "411NEW"),
    "customer_name": plausible("text", "Hostile SA"),
    "invoice_number": plausible("text", "N-1", "H-1"),
    "issue_date": plausible("date", "2026-11-01", "01/11/2026"),
    "due_date": plausible("date", "2026-12-01", "01/12/2026"),
    "amount": plausible("amount", "100.00", "1 234,56"),
    "currency": plausible("text", "EUR", "eur", "USD"),
    "po_number": cell("text"),
    "customer_email": plausible("text", "a@example.com"),
    "sales_rep": cell("text"),
    "confirmed": plausible("text", "yes", "oui", "no"),
}
PAYMENT_COLUMNS = {
    "invoice_number": plausible("text", "H-1", "H-2"),
    "payment_date": plausible("date", "2026-11-10", "10/11/2026"),
    "amount": plausible("amount", "50.00", "1 200,00"),
    "reference": cell("text"),
    "method": plausible("text", "transfer", "cheque"),
}
BANK_COLUMNS = {
    "date": plausible("date", "2026-11-16"),
    "amount": plausible("amount", "80.00", "-12,50"),
    "currency": plausible("text", "EUR"),
    "reference": plausible("text", "H-1", "411HOST H-2"),
    "counterparty_name": cell("text"),
    "counterparty_iban": plausible("text", "FR7630006000011234567890189"),
    "bank_reference": cell("text"),
}


@st.composite
def table_file(draw, columns, folder: Path) -> Path:
    return write_table(folder, draw(table(columns)), draw(FORMATS))


# --- XML and FEC -------------------------------------------------------------------------


def xml_text(kind: str, *values: str) -> st.SearchStrategy[str]:
    """Escaped, and without the characters XML cannot hold (those make the file invalid,
    which the shape-breaking cases below try anyway)."""
    return plausible(kind, *values).map(
        lambda s: escape("".join(c for c in s if c.isprintable() or c in "\t\n"))
    )


@st.composite
def camt_file(draw, folder: Path) -> Path:
    entries = draw(
        st.lists(
            st.builds(
                lambda amount, ref, ccy, cd, day, ustrd, name, iban, rtr: entry(
                    amount,
                    ref=ref,
                    ccy=ccy,
                    cd=cd,
                    day=day,
                    ustrd=ustrd,
                    name=name,
                    iban=iban,
                    rtr=rtr,
                ),
                xml_text("amount", "80.00", "1200.00"),
                xml_text("text", "B1", ""),
                xml_text("text", "EUR"),
                st.sampled_from(["CRDT", "DBIT", "X"]),
                xml_text("date", "2026-11-16"),
                xml_text("text", "H-1", "411HOST H-2"),
                xml_text("text"),
                xml_text("text", "FR7630006000011234567890189"),
                xml_text("text", "", "AC06", "MD06"),
            ),
            min_size=1,
            max_size=4,
        )
    )
    name = f"camt-{next(NUMBERS)}.xml"
    return camt(folder, *entries, name=name)


@st.composite
def einvoice_file(draw, folder: Path) -> Path:
    syntax = draw(st.sampled_from(["cii", "ubl"]))
    fields = {
        "number": draw(xml_text("text", "E-1")),
        "total": draw(xml_text("amount", "1200.00")),
        "prepaid": draw(xml_text("amount", "0.00", "200.00")),
        "payable": draw(xml_text("amount", "1000.00")),
        "buyer_name": draw(xml_text("text", "Acheteur SAS")),
        "buyer_siren": draw(xml_text("text", BUYER_SIREN)),
        "buyer_vat": draw(xml_text("text", BUYER_VAT)),
    }
    if syntax == "cii":
        dates = {
            "issue": draw(xml_text("text", "20261102")),
            "due": draw(xml_text("text", "20261202", "")),
        }
        data = cii(
            **fields,
            **dates,
            currency=draw(xml_text("text", "EUR")),
            type_code=draw(st.sampled_from(["380", "381", "999"])),
        )
    else:
        dates = {
            "issue": draw(xml_text("date", "2026-11-02")),
            "due": draw(xml_text("date", "2026-12-02")),
        }
        data = ubl(**fields, **dates, credit_note=draw(st.booleans()))
    path = folder / f"einvoice-{next(NUMBERS)}.xml"
    path.write_bytes(data)
    return path


FEC_KINDS = {
    "JournalCode": ("text", "VE", "BQ"),
    "EcritureNum": ("text", "1", "2"),
    "EcritureDate": ("text", "20261102", "99991231", "00010101"),
    "CompteNum": ("text", "41100000", "70600000"),
    "CompAuxNum": ("text", "C001", ""),
    "PieceRef": ("text", "F001"),
    "PieceDate": ("text", "20261102", "20261332"),
    "Debit": ("amount", "1200,00", "0,00"),
    "Credit": ("amount", "0,00", "1200,00"),
    "EcritureLet": ("text", "", "A"),
    "DateLet": ("text", "", "20261110"),
}


@st.composite
def fec_file(draw, folder: Path) -> Path:
    rows = [FEC_COLUMNS]
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        row = []
        for column in FEC_COLUMNS:
            kind, *values = FEC_KINDS.get(column, ("text",))
            row.append(draw(plausible(kind, *values)))
        rows.append(row)
    text = "\n".join("\t".join(r) for r in rows) + "\n"
    path = folder / f"FEC-{next(NUMBERS)}.txt"
    path.write_bytes("\ufeff".encode() + text.encode("utf-8", "surrogatepass"))
    return path


# --- the commands ------------------------------------------------------------------------


def files(command: str, folder: Path) -> st.SearchStrategy[Path]:
    return {
        "import_invoices": table_file(INVOICE_COLUMNS, folder),
        "import_payments": table_file(PAYMENT_COLUMNS, folder),
        "import_bank_statement": st.one_of(camt_file(folder), table_file(BANK_COLUMNS, folder)),
        "import_einvoices": einvoice_file(folder),
        "import_fec": fec_file(folder),
    }[command]


COMMANDS = [
    "import_invoices",
    "import_payments",
    "import_bank_statement",
    "import_einvoices",
    "import_fec",
]


def fuzz(command: str, folder: Path, examples: int) -> None:
    @settings_for(examples)
    @given(path=files(command, folder), dry_run=st.booleans())
    def check(path, dry_run):
        run_hostile(command, [path], *(["--dry-run"] if dry_run else []))

    check()


@pytest.mark.parametrize("command", COMMANDS)
def test_hostile_import_files(ledger, command):
    fuzz(command, ledger, EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_hostile_import_files_at_length(ledger, command):
    fuzz(command, ledger, SLOW_EXAMPLES)
