"""Writers of the aged balance ("balance âgée") as CSV and XLSX.

Plain functions over an :class:`~receivables.selectors.AgedBalance`, so the web downloads
and the ``aged_balance`` command write exactly the same rows. The CSV follows the
contract in DESIGN.md: columns ``customer_ref, customer_name, not_due, d1_30, d31_60,
d61_90, d90_plus, total``, one row per customer, then a ``TOTAL`` row; amounts with two
decimals and a dot. The command line and English users get exactly that; a French user
downloading it from the web gets what a French spreadsheet opens as it is
(:func:`aged_balance_csv_localized`): semicolons, decimal commas, French headers and a
UTF-8 byte order mark. Both go through :mod:`core.exports`, the one formula-safe writer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.exports import CsvWriter, xlsx_bytes
from receivables.selectors import BUCKETS, COLUMNS, AgedBalance

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

AMOUNT_COLUMNS: tuple[str, ...] = (*BUCKETS, "total")
TOTAL_REF = "TOTAL"


def _rows(ab: AgedBalance) -> list[list[str | Decimal]]:
    rows: list[list[str | Decimal]] = [
        [row["customer_ref"], row["customer_name"], *(row[k] for k in AMOUNT_COLUMNS)]
        for row in ab.rows
    ]
    rows.append([TOTAL_REF, "", *(ab.totals[k] for k in AMOUNT_COLUMNS)])
    return rows


def aged_balance_csv(ab: AgedBalance, file: SupportsWrite[str]) -> None:
    """Write ``ab`` as CSV (comma separated, ``\\n`` line ends) to a text file."""
    writer = CsvWriter(file, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_rows(ab))


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
    writer = CsvWriter(file, delimiter=";", decimal_separator=",", bom=True)
    writer.writerow(_french_headers())
    writer.writerows(_rows(ab))


def aged_balance_xlsx(ab: AgedBalance) -> bytes:
    """``ab`` as an XLSX workbook: amounts are numeric cells with a two-decimal format,
    the TOTAL row is bold, the header row is frozen."""
    return xlsx_bytes(
        title=f"Aged balance {ab.as_of.isoformat()}",
        header=list(COLUMNS),
        rows=_rows(ab),
        widths={1: 16, 2: 40},
        bold_last_row=True,
    )
