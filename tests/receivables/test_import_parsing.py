"""Cell parsing and file reading shared by the imports (no database needed)."""

import datetime
from decimal import Decimal

import openpyxl
import pytest

from receivables.imports.errors import ImportFileError, RowError
from receivables.imports.parsing import (
    CellError,
    cell_text,
    parse_amount,
    parse_currency,
    parse_date,
)
from receivables.imports.payments import import_key, parse_method
from receivables.imports.reader import normalise_header, read_table, sniff_delimiter

REQUIRED = ("invoice_number", "payment_date", "amount")
OPTIONAL = ("reference", "method")


# --- amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),  # no-break space
        ("1\u202f234,56", "1234.56"),  # narrow no-break space (French locale)
        ("12\u202f345\u202f678,9", "12345678.90"),
        ("  42 ", "42.00"),
        ("0,5", "0.50"),
        ("-12,30", "-12.30"),
        ("1234.560", "1234.56"),  # trailing zero: nothing lost
        (1234, "1234.00"),
        (1234.56, "1234.56"),
        (0.1 + 0.2, "0.30"),  # a spreadsheet formula's float artefact
        (Decimal("7.5"), "7.50"),
    ],
)
def test_parse_amount_accepts_french_and_english_forms(raw, expected):
    value = parse_amount(raw)
    assert value == Decimal(expected)
    assert isinstance(value, Decimal)
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12.345", "more than two decimals"),
        ("12,345", "more than two decimals"),
        (12.345, "more than two decimals"),
        ("1,234.56", "not a valid amount"),
        ("1.234,56", "not a valid amount"),
        ("12 34,56", "not a valid amount"),
        ("abc", "not a valid amount"),
        ("12€", "not a valid amount"),
        ("1e3", "not a valid amount"),
        ("", "not a valid amount"),
        ("1234567890123,00", "too large"),
        (float("nan"), "not an amount"),
        (True, "not an amount"),
    ],
)
def test_parse_amount_refuses_ambiguous_or_imprecise_values(raw, message):
    with pytest.raises(CellError, match=message):
        parse_amount(raw)


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-15", datetime.date(2026, 3, 15)),
        ("15/03/2026", datetime.date(2026, 3, 15)),
        ("5/3/2026", datetime.date(2026, 3, 5)),
        (" 2026-3-5 ", datetime.date(2026, 3, 5)),
        (datetime.date(2026, 3, 15), datetime.date(2026, 3, 15)),
        (datetime.datetime(2026, 3, 15, 0, 0), datetime.date(2026, 3, 15)),
        ("29/02/2028", datetime.date(2028, 2, 29)),
    ],
)
def test_parse_date_accepts_iso_french_and_real_dates(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31/02/2026", "31/02/2026 is not a valid date"),
        ("2026-13-01", "not a valid date"),
        ("29/02/2026", "not a valid date"),
        ("03-15-2026", "is not a date"),
        ("15.03.2026", "is not a date"),
        ("15/03/26", "is not a date"),
        ("tomorrow", "is not a date"),
        (46000, "is a number, not a date"),
        (datetime.datetime(2026, 3, 15, 10, 30), "time of day"),
    ],
)
def test_parse_date_refuses_impossible_or_ambiguous_dates(raw, message):
    with pytest.raises(CellError, match=message):
        parse_date(raw)


def test_cell_text_prints_whole_numbers_without_decimals():
    assert cell_text(1001) == "1001"
    assert cell_text(1001.0) == "1001"
    assert cell_text(None) == ""
    assert cell_text("  F-1 ") == "F-1"


def test_parse_currency():
    assert parse_currency("") == "EUR"
    assert parse_currency("usd") == "USD"
    with pytest.raises(CellError, match="not a currency code"):
        parse_currency("EURO")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "transfer"),
        ("transfer", "transfer"),
        ("Virement", "transfer"),
        ("chèque", "cheque"),
        ("CHEQUE", "cheque"),
        ("carte", "card"),
        ("Prélèvement", "direct_debit"),
        ("prelevement", "direct_debit"),
        ("direct debit", "direct_debit"),
        ("direct_debit", "direct_debit"),
        ("autre", "other"),
    ],
)
def test_parse_method_accepts_french_and_english(raw, code):
    assert parse_method(raw) == code


def test_parse_method_refuses_unknown():
    with pytest.raises(CellError, match="not a payment method"):
        parse_method("bitcoin")


def test_import_key_is_sha256_of_the_row_and_its_occurrence():
    common = {
        "number": "F1",
        "date": datetime.date(2026, 1, 2),
        "amount": Decimal("10.00"),
        "reference": "VIR 1",
        "method": "transfer",
    }
    first = import_key(**common, occurrence=1)
    assert len(first) == 64
    assert first == import_key(**common, occurrence=1)
    assert first != import_key(**common, occurrence=2)


# --- reading files ---------------------------------------------------------------------


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode(encoding))
    return path


def test_normalise_header():
    assert normalise_header("\ufeff Invoice_Number ") == "invoice_number"
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter("a,b,c") == ","
    assert sniff_delimiter('"x;y",b,c') == ","
    assert sniff_delimiter("single") == ","


def test_reads_comma_csv_with_line_numbers(tmp_path):
    path = write(
        tmp_path,
        "p.csv",
        "invoice_number,payment_date,amount\nF1,2026-01-02,10.00\n\nF2,2026-01-03,20\n",
    )
    table = read_table(path, required=REQUIRED, optional=OPTIONAL)
    assert table.format == "csv"
    assert table.columns == ["invoice_number", "payment_date", "amount"]
    assert [line for line, _row in table.rows] == [2, 4]  # the blank line 3 is skipped
    assert table.rows[0][1] == {
        "invoice_number": "F1",
        "payment_date": "2026-01-02",
        "amount": "10.00",
    }


def test_reads_semicolon_csv_with_bom_crlf_and_odd_headers(tmp_path):
    content = "\ufeffInvoice_Number ; PAYMENT_DATE;Amount;Note\r\nF1;02/01/2026;1 234,56;x\r\n"
    path = write(tmp_path, "p.csv", content)
    table = read_table(path, required=REQUIRED, optional=OPTIONAL)
    assert table.rows == [
        (
            2,
            {
                "invoice_number": "F1",
                "payment_date": "02/01/2026",
                "amount": "1 234,56",
                "note": "x",
            },
        )
    ]
    assert table.ignored_columns == ["note"]


def test_quoted_multiline_cell_keeps_the_starting_line(tmp_path):
    content = (
        'invoice_number,payment_date,amount,reference\nF1,2026-01-02,1,"a\nb"\nF2,2026-01-02,2,c\n'
    )
    table = read_table(write(tmp_path, "p.csv", content), required=REQUIRED)
    assert [line for line, _row in table.rows] == [2, 4]
    assert table.rows[0][1]["reference"] == "a\nb"


def test_short_rows_are_padded_and_long_rows_reported(tmp_path):
    content = "invoice_number,payment_date,amount\nF1,2026-01-02\nF2,2026-01-02,1,extra\n"
    table = read_table(write(tmp_path, "p.csv", content), required=REQUIRED)
    assert table.rows[0][1]["amount"] is None
    assert [(e.line, e.message) for e in table.errors] == [
        (3, "the row has more values than the header has columns.")
    ]


def test_reads_first_sheet_of_xlsx_with_sheet_row_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Invoice_Number", "payment_date", "amount"])
    sheet.append(["F1", datetime.date(2026, 1, 2), 1234.56])
    sheet.append([None, None, None])
    sheet.append([1001, "03/01/2026", "12,50"])
    workbook.create_sheet("Other").append(["nothing", "here"])
    path = tmp_path / "p.xlsx"
    workbook.save(path)
    table = read_table(path, required=REQUIRED)
    assert table.format == "xlsx"
    assert [line for line, _row in table.rows] == [2, 4]
    assert table.rows[0][1]["payment_date"] == datetime.datetime(2026, 1, 2)
    assert cell_text(table.rows[1][1]["invoice_number"]) == "1001"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("blank.csv", b"\n\n  \n", "The file is empty."),
        ("bom.csv", "\ufeff".encode(), "The file is empty."),
        ("header.csv", b"invoice_number,payment_date,amount\n", "header but no data rows"),
        ("bin.csv", bytes(range(256)) * 4, "binary file"),
        (
            "latin1.csv",
            "invoice_number;payment_date;amount\nFé;1;1\n".encode("latin-1"),
            "not UTF-8 text",
        ),
        ("utf16.csv", "invoice_number,payment_date,amount\n".encode("utf-16"), "UTF-16"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel"),
        ("fake.xlsx", b"invoice_number,payment_date,amount\n", "not an Excel workbook"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 50, "not a readable XLSX"),
        ("doc.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    ],
)
def test_unreadable_files_raise_a_clear_error(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(ImportFileError, match=message):
        read_table(path, required=REQUIRED)


def test_latin1_error_names_the_line(tmp_path):
    content = "invoice_number;payment_date;amount\nF1;2026-01-01;1\nFé;1;1\n".encode("latin-1")
    with pytest.raises(ImportFileError, match="line 3"):
        read_table(write(tmp_path, "l.csv", content), required=REQUIRED)


def test_missing_file(tmp_path):
    with pytest.raises(ImportFileError, match="File not found"):
        read_table(tmp_path / "nope.csv", required=REQUIRED)


def test_missing_columns_are_all_named_on_the_header_line(tmp_path):
    path = write(tmp_path, "p.csv", "invoice_number;reference\nF1;x\n")
    with pytest.raises(ImportFileError) as info:
        read_table(path, required=REQUIRED)
    assert info.value.error.line == 1
    assert "missing required column(s): payment_date, amount" in info.value.error.message
    assert str(info.value.error).startswith("line 1: ")


def test_error_quoting_a_multiline_cell_stays_on_one_line():
    assert str(RowError(3, "amount: 1\n2 is not a valid amount")) == (
        "line 3: amount: 1\\n2 is not a valid amount"
    )
    assert str(RowError(None, "The file is empty.")) == "The file is empty."


def test_duplicate_column(tmp_path):
    path = write(
        tmp_path, "p.csv", "invoice_number,amount,payment_date,Amount\nF1,1,2026-01-01,2\n"
    )
    with pytest.raises(ImportFileError, match="amount appears twice"):
        read_table(path, required=REQUIRED)
