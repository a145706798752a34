"""core.exports, the one spreadsheet writer: no text cell can become a formula, numbers
stay numbers."""

import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from core.exports import CsvWriter, csv_bytes, csv_value, is_risky_text, safe_text, xlsx_bytes

HOSTILE = [
    '=HYPERLINK("http://evil.example","Click")',
    "+33 1 23",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTAB",
    "\rCR",
    "   =1+1",
    "\u00a0=cmd|' /C calc'!A0",
    "\n=1+1",
]
HARMLESS = ["Acme SAS", "O'Brien", "a=b", "1-2", "", "Zeta - Lyon"]


@pytest.mark.parametrize("value", HOSTILE)
def test_risky_text_gets_an_apostrophe(value):
    assert is_risky_text(value)
    assert safe_text(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_harmless_text_is_left_as_it_is(value):
    assert not is_risky_text(value)
    assert safe_text(value) == value


def test_numbers_and_dates_stay_numbers_and_dates():
    assert csv_value(Decimal("-12.5")) == "-12.50"
    assert csv_value(Decimal("-12.5"), decimal_separator=",") == "-12,50"
    assert csv_value(-3) == "-3"
    assert csv_value(None) == ""
    assert csv_value(datetime.date(2026, 1, 2)) == "2026-01-02"
    # The same text as a string is neutralised: only typed amounts are numbers.
    assert csv_value("-12.50") == "'-12.50"


def test_csv_writer_writes_every_row_safely():
    out = io.StringIO()
    writer = CsvWriter(out, delimiter=";", decimal_separator=",", bom=True)
    writer.writerow(["ref", "name", "amount"])
    writer.writerows([["=1", "@x", Decimal("-1.5")], ["A", "Alpha", Decimal("2")]])
    assert out.getvalue() == "\ufeffref;name;amount\r\n'=1;'@x;-1,50\r\nA;Alpha;2,00\r\n"


def test_csv_bytes_quotes_as_csv_does():
    data = csv_bytes(["name"], [['=HYPERLINK("http://x")'], ["+1"], ["-2"], ["@SUM(A1)"], ["ok"]])
    assert data.decode().splitlines()[1:] == [
        '"\'=HYPERLINK(""http://x"")"',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "ok",
    ]


def _sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


def test_xlsx_stores_text_as_text_never_as_a_formula():
    data = xlsx_bytes(
        title="A very long sheet title that Excel would refuse",
        header=["ref", "name", "amount"],
        rows=[[value, "x\x00y\x1fz", Decimal("-7.25")] for value in HOSTILE],
    )
    assert "<f>" not in _sheet_xml(data)  # no formula element at all
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(min_row=2))
    for cell_row, value in zip(rows, HOSTILE, strict=True):
        ref, name, amount = cell_row
        assert ref.data_type == "s"
        assert ref.value == value  # unchanged: the flag, not an apostrophe, marks it
        assert ref.quotePrefix  # Excel's own "this is text" flag
        assert name.value == "xyz"  # characters XML cannot hold are dropped, not a 500
        assert amount.data_type == "n"
        assert amount.value == -7.25  # a negative amount is a number
        assert amount.number_format == "#,##0.00"
    assert len(ws.title) <= 31


def test_xlsx_harmless_text_has_no_quote_prefix():
    data = xlsx_bytes(title="t", header=["name"], rows=[["Acme"]])
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A2"].value == "Acme"
    assert not ws["A2"].quotePrefix
