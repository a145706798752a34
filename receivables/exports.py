"""Writers of the aged balance ("balance âgée") as CSV and XLSX.

Plain functions over an :class:`~receivables.selectors.AgedBalance`, so the web downloads
and the ``aged_balance`` command write exactly the same rows. The CSV follows the
contract in DESIGN.md: columns ``customer_ref, customer_name, not_due, d1_30, d31_60,
d61_90, d90_plus, total``, one row per customer, then a ``TOTAL`` row; amounts with two
decimals and a dot. The command line and English users get exactly that; a French user
downloading it from the web gets what a French spreadsheet opens as it is
(:func:`aged_balance_csv_localized`): semicolons, decimal commas, French headers and a
UTF-8 byte order mark.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from receivables.selectors import BUCKETS, COLUMNS, AgedBalance

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

AMOUNT_COLUMNS: tuple[str, ...] = (*BUCKETS, "total")
TOTAL_REF = "TOTAL"
XLSX_AMOUNT_FORMAT = "#,##0.00"


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _rows(ab: AgedBalance) -> list[tuple[str, str, list[Decimal]]]:
    rows = [
        (row["customer_ref"], row["customer_name"], [row[k] for k in AMOUNT_COLUMNS])
        for row in ab.rows
    ]
    rows.append((TOTAL_REF, "", [ab.totals[k] for k in AMOUNT_COLUMNS]))
    return rows


def aged_balance_csv(ab: AgedBalance, file: SupportsWrite[str]) -> None:
    """Write ``ab`` as CSV (comma separated, ``\\n`` line ends) to a text file."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(COLUMNS)
    for ref, name, amounts in _rows(ab):
        writer.writerow([ref, name, *(_amount(a) for a in amounts)])


def _french_headers() -> list[str]:
    # The aged balance page's own column titles, in the active language.
    return [
        _("Reference"),
        _("Customer"),
        _("Not due"),
        _("1–30 days"),
        _("31–60 days"),
        _("61–90 days"),
        _("Over 90 days"),
        _("Total"),
    ]


def aged_balance_csv_localized(ab: AgedBalance, file: SupportsWrite[str]) -> None:
    """Write ``ab`` as CSV for the web user of the active language: the DESIGN.md
    contract (:func:`aged_balance_csv`) unless that language is French, which gets a
    byte order mark (so that Excel reads UTF-8), semicolons, decimal commas and the
    page's French column titles. Same rows, same amounts."""
    if (get_language() or "").split("-")[0] != "fr":
        aged_balance_csv(ab, file)
        return
    file.write("\ufeff")
    writer = csv.writer(file, delimiter=";", lineterminator="\r\n")
    writer.writerow(_french_headers())
    for ref, name, amounts in _rows(ab):
        writer.writerow([ref, name, *(_amount(a).replace(".", ",") for a in amounts)])


def aged_balance_xlsx(ab: AgedBalance) -> bytes:
    """``ab`` as an XLSX workbook: amounts are numeric cells with a two-decimal format,
    the TOTAL row is bold, the header row is frozen."""
    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook's one sheet
    ws.title = f"Aged balance {ab.as_of.isoformat()}"
    ws.append(list(COLUMNS))
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    for ref, name, amounts in _rows(ab):
        ws.append([ref, name, *amounts])
        for cell in ws[ws.max_row][2:]:
            cell.number_format = XLSX_AMOUNT_FORMAT
    for cell in ws[ws.max_row]:
        cell.font = bold
    ws.freeze_panes = "A2"
    widths = {1: 16, 2: 40}
    for index in range(1, len(COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(index)].width = widths.get(index, 14)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
