"""The one writer of spreadsheet exports (CSV and XLSX), safe against formula injection.

Every file the application hands out for a spreadsheet (the aged balance on the web, in a
snapshot and on the command line, the recovery file's CSVs) is written here, so one rule
holds everywhere: a text cell is never read as a formula. A customer named
``=HYPERLINK("http://evil","Click")`` downloaded by a sales rep stays text.

The rule is OWASP's "CSV injection" advice: a text cell whose first character, after any
leading spaces, is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe (spreadsheets show it as a text marker). defusedcsv applies a narrower form of
this rule (no tab, carriage return or leading spaces), hence one function of our own.

Numbers stay numbers: :class:`~decimal.Decimal` and ``int`` values are written as numbers
(a negative amount is ``-12.50``, never ``'-12.50``), dates in ISO format. In XLSX, text is
always stored as a string cell (never a formula) and a risky one is marked "quote prefix",
the spreadsheet's own "this is text" flag, with its value unchanged.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

Cell = str | Decimal | int | datetime.date | datetime.datetime | None

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Leading characters a spreadsheet skips before it looks for a formula sign.
_SKIPPED = " \u00a0\n"
XLSX_AMOUNT_FORMAT = "#,##0.00"
XLSX_MAX_SHEET_TITLE = 31


def is_risky_text(value: str) -> bool:
    """Whether a spreadsheet could read ``value`` as a formula (or a DDE command)."""
    if value[:1] in ("\t", "\r"):
        return True
    return value.lstrip(_SKIPPED)[:1] in FORMULA_TRIGGERS


def safe_text(value: str) -> str:
    """``value`` as a CSV text cell: a leading apostrophe when it could start a formula."""
    return f"'{value}" if is_risky_text(value) else value


def csv_value(value: Cell, *, decimal_separator: str = ".") -> str:
    """One CSV cell: text made safe, amounts with two decimals, dates in ISO format."""
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int: say it in words, not 1/0
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", decimal_separator)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.date):  # datetime included
        return value.isoformat()
    return safe_text(str(value))


class CsvWriter:
    """A :func:`csv.writer` whose every row goes through :func:`csv_value`.

    ``decimal_separator=","`` (with ``delimiter=";"``) gives what French spreadsheets
    open as they are; ``bom=True`` writes a UTF-8 byte order mark first, for Excel."""

    def __init__(
        self,
        file: SupportsWrite[str],
        *,
        delimiter: str = ",",
        lineterminator: str = "\r\n",
        decimal_separator: str = ".",
        bom: bool = False,
    ) -> None:
        if bom:
            file.write("\ufeff")
        self._writer = csv.writer(file, delimiter=delimiter, lineterminator=lineterminator)
        self._decimal_separator = decimal_separator

    def writerow(self, row: Iterable[Cell]) -> None:
        self._writer.writerow(
            [csv_value(v, decimal_separator=self._decimal_separator) for v in row]
        )

    def writerows(self, rows: Iterable[Iterable[Cell]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_bytes(header: Sequence[str], rows: Iterable[Iterable[Cell]]) -> bytes:
    """A whole CSV file (comma separated, CRLF line ends, UTF-8) as bytes."""
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_append(ws: Worksheet, row: Iterable[Cell], *, amount_format: str | None = None) -> None:
    """Append ``row`` to ``ws``: text as string cells (never formulas, risky ones flagged
    quote-prefixed), characters XML cannot hold removed, amounts as numbers (with
    ``amount_format`` when given), dates as dates."""
    values = list(row)
    ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    for cell, value in zip(ws[ws.max_row], values, strict=False):
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            if is_risky_text(value):
                cell.quotePrefix = True
        elif isinstance(value, Decimal) and amount_format:
            cell.number_format = amount_format


def xlsx_bytes(
    *,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    widths: dict[int, int] | None = None,
    default_width: int = 14,
    bold_last_row: bool = False,
) -> bytes:
    """A one-sheet workbook: bold frozen header, rows through :func:`xlsx_append` with
    amounts in :data:`XLSX_AMOUNT_FORMAT`, column widths (1-based index: width)."""
    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook's one sheet
    ws.title = title[:XLSX_MAX_SHEET_TITLE]
    bold = Font(bold=True)
    xlsx_append(ws, header)
    for cell in ws[1]:
        cell.font = bold
    for row in rows:
        xlsx_append(ws, row, amount_format=XLSX_AMOUNT_FORMAT)
    if bold_last_row:
        for cell in ws[ws.max_row]:
            cell.font = bold
    ws.freeze_panes = "A2"
    for index in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(index)].width = (widths or {}).get(
            index, default_width
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
