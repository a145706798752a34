"""Reading a French FEC ("fichier des écritures comptables"): tab or pipe separated,
with or without BOM, UTF-8 or Windows-1252, padded fields and extra columns tolerated;
its dates, journals and the stable key of each line.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from pathlib import Path

from django.utils.translation import gettext as _

from receivables.imports.errors import ImportFileError
from receivables.imports.parsing import CellError, fold
from receivables.imports.reader import Row, Table, read_file_bytes

# The columns the import reads (the standard's names, compared case-insensitively); the
# other standard columns and any extra column are tolerated and ignored.
FEC_COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
)


# The rest of the standard's 18 columns: read by nobody, but not "extra" either.
OTHER_STANDARD_COLUMNS = ("EcritureLib", "ValidDate", "Montantdevise", "Idevise")


CUSTOMER_ACCOUNT_PREFIX = "411"


# Journals whose credits on a customer account are credit notes: codes such as VE, VT,
# VTE, or a label saying sales.
_SALES_CODES = re.compile(r"^(v|ve|vt|vte|ven|vnt|vente|ventes|sales?)\d*$")


_SALES_LABEL = re.compile(r"vente|sales")


_BANK_CODES = re.compile(r"^(bq|bk|bnk|bqe|banque|bank|tr|tre|treso|ca|cai|caisse)\w*$")


_FEC_DATE = re.compile(r"^\d{8}$")


def read_fec(path: str | Path) -> Table:
    """``path`` as a table: BOM and encoding (UTF-8, else Windows-1252) handled, tab or
    pipe separated (chosen from the header), every cell stripped of its padding. Raises
    ImportFileError for a file that is not a FEC (missing columns are all named)."""
    path = Path(path)
    data = read_file_bytes(path)
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if b"\x00" in data:
        raise ImportFileError(
            _(
                "The file is not a text FEC (it holds binary data or is saved in UTF-16): "
                "export it as text in UTF-8 or Windows-1252."
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        if "\ufffd" in text:
            raise ImportFileError(
                _("The file is neither UTF-8 nor Windows-1252 text: export it again as text.")
            ) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = lines[0].lstrip("\ufeff")
    if "\t" in header:
        delimiter = "\t"
    elif "|" in header:
        delimiter = "|"
    else:
        raise ImportFileError(
            _("The first line is not a FEC header: columns must be separated by tabs or pipes.")
        )
    columns = [c.strip().lower() for c in header.split(delimiter)]
    missing = [c for c in FEC_COLUMNS if c.lower() not in columns]
    if missing:
        raise ImportFileError(
            _("Missing FEC columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    known = {c.lower() for c in FEC_COLUMNS + OTHER_STANDARD_COLUMNS}
    table = Table(
        columns=columns,
        rows=[],
        format="fec",
        ignored_columns=[c for c in columns if c and c not in known],
    )
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split(delimiter)
        if len(cells) < len(columns) and len(cells) < _last_needed(columns) + 1:
            table.errors.append(
                ImportFileError(
                    _("%(found)d fields where the header has %(expected)d.")
                    % {"found": len(cells), "expected": len(columns)},
                    line=number,
                ).error
            )
            continue
        row: Row = {name: cells[i].strip() for i, name in enumerate(columns) if i < len(cells)}
        table.rows.append((number, row))
    if not table.rows and not table.errors:
        raise ImportFileError(_("The file has a header but no lines."))
    return table


def _last_needed(columns: list[str]) -> int:
    return max(columns.index(c.lower()) for c in FEC_COLUMNS)


def parse_fec_date(value: str) -> datetime.date:
    if not _FEC_DATE.match(value):
        raise CellError(_("%(value)s is not a date; a FEC writes YYYYMMDD.") % {"value": value})
    try:
        return datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise CellError(_("%(value)s is not a real date.") % {"value": value}) from None


def is_sales_journal(code: str, label: str) -> bool:
    return bool(_SALES_CODES.match(fold(code)) or _SALES_LABEL.search(fold(label)))


def line_key(*, journal: str, entry: str, piece: str, account: str, occurrence: int) -> str:
    """sha256 hex of ``journal|entry|piece|account|occurrence``: the line's identity in
    the books, the same in every later export of them."""
    raw = "|".join((journal, entry, piece, account, str(occurrence)))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
