"""Reading an import file (CSV or XLSX) as a header and numbered rows.

The format is recognised from the content, not trusted from the extension: finance
staff rename files, and Excel happily saves semicolon "CSV" in Latin-1 or UTF-16. Any
file that is not a readable table raises :class:`ImportFileError` with a message saying
what to do, never a traceback.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from receivables.imports.errors import ImportFileError, RowError
from receivables.imports.parsing import cell_text

Row = dict[str, object]
_DELIMITERS = (";", ",", "\t")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, .doc
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class Table:
    """A file read as a table: normalised column names and the data rows, each with its
    line number in the file (the header is line 1 when it is the first line). ``errors``
    holds row-shape problems, reported along with the importer's own."""

    columns: list[str]
    rows: list[tuple[int, Row]]
    header_line: int = 1
    format: str = "csv"
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def normalise_header(name: object) -> str:
    """A column name as the importers know it: BOM removed, stripped, lower-case."""
    return cell_text(name).replace("\ufeff", "").strip().lower()


def read_file_bytes(path: str | Path) -> bytes:
    """The bytes of an import file, or ImportFileError (missing, a directory, unreadable,
    larger than :data:`MAX_FILE_BYTES`): the first check of every importer."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportFileError(
                _("The file is larger than %(size)d MB; split it.")
                % {"size": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFileError(_("File not found: %(path)s") % {"path": path}) from exc
    except IsADirectoryError as exc:
        raise ImportFileError(_("%(path)s is a directory, not a file.") % {"path": path}) from exc
    except OSError as exc:
        raise ImportFileError(
            _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror or exc}
        ) from exc


def read_table(path: str | Path, *, required: Sequence[str], optional: Sequence[str] = ()) -> Table:
    """Read ``path`` and check it has every ``required`` column.

    Raises ImportFileError when the file is missing, empty, binary, not UTF-8, not
    CSV/XLSX, has no data rows or lacks columns (all missing ones are named)."""
    path = Path(path)
    return read_table_data(
        read_file_bytes(path), suffix=path.suffix, required=required, optional=optional
    )


def read_table_data(
    data: bytes, *, suffix: str = "", required: Sequence[str], optional: Sequence[str] = ()
) -> Table:
    """:func:`read_table` for bytes already read (an uploaded file); ``suffix`` is the
    file name's extension, only used to explain a misnamed workbook."""
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(_ZIP_MAGIC):
        raw_rows = _xlsx_rows(data)
        fmt = "xlsx"
    elif data.startswith(b"%PDF"):
        raise ImportFileError(_("This is a PDF file, not a CSV or XLSX file."))
    elif data.startswith(_OLE2_MAGIC):
        raise ImportFileError(
            _("This is an old Excel (.xls) or other Office file; save it as .xlsx or CSV UTF-8.")
        )
    elif suffix.lower() in (".xlsx", ".xlsm"):
        raise ImportFileError(_("The file is named .xlsx but is not an Excel workbook."))
    else:
        raw_rows = _csv_rows(data)
        fmt = "csv"
    return _build_table(raw_rows, fmt, required=required, optional=optional)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            _("The file is UTF-16 text; save it as CSV UTF-8 (comma or semicolon separated).")
        )
    if b"\x00" in data:
        raise ImportFileError(_("This is a binary file, not a CSV or XLSX file."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            _(
                "The file is not UTF-8 text (unreadable byte on line %(line)d); "
                "save it as CSV UTF-8 or XLSX."
            )
            % {"line": line}
        ) from exc


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, from its header line: whichever of ``;``, ``,`` and
    tab occurs most outside quotes. French Excel writes ``;``, everything else ``,``."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    text = _decode(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            yield start, list(record)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(
            _("the CSV is malformed (%(reason)s).") % {"reason": exc}, line=reader.line_num
        ) from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    # Imported late: openpyxl is only needed for workbooks.
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign zip
        raise ImportFileError(
            _("The file is not a readable XLSX workbook (%(reason)s).") % {"reason": exc}
        ) from exc
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The workbook has no sheet."))
        sheet = workbook.worksheets[0]
        # Row numbers are the sheet's own: read-only sheets yield empty rows for gaps.
        try:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        except Exception as exc:  # a damaged sheet only shows while reading it
            raise ImportFileError(
                _("The first sheet of the workbook cannot be read (%(reason)s).") % {"reason": exc}
            ) from exc
    finally:
        workbook.close()
    yield from enumerate(rows, start=1)


def _is_blank(values: Sequence[object]) -> bool:
    return all(cell_text(v) == "" for v in values)


def _build_table(
    raw_rows: Iterator[tuple[int, list[object]]],
    fmt: str,
    *,
    required: Sequence[str],
    optional: Sequence[str],
) -> Table:
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[int, Row]] = []
    errors: list[RowError] = []
    width = 0
    for line, values in raw_rows:
        if _is_blank(values):
            continue
        if header is None:
            header = [normalise_header(v) for v in values]
            header_line = line
            _check_header(header, header_line, required)
            width = len(header)
            continue
        if not _is_blank(values[width:]):
            errors.append(RowError(line, _("the row has more values than the header has columns.")))
        padded = list(values[:width]) + [None] * (width - len(values))
        rows.append((line, {name: v for name, v in zip(header, padded, strict=True) if name}))
    if header is None:
        raise ImportFileError(_("The file is empty."))
    if not rows:
        raise ImportFileError(_("The file has a header but no data rows."))
    known = set(required) | set(optional)
    ignored = [name for name in header if name and name not in known]
    columns = [name for name in header if name]
    return Table(
        columns=columns,
        rows=rows,
        header_line=header_line,
        format=fmt,
        ignored_columns=ignored,
        errors=errors,
    )


def _check_header(header: list[str], line: int, required: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name:
            continue
        if name in seen:
            raise ImportFileError(
                _("the column %(name)s appears twice (columns %(first)d and %(second)d).")
                % {"name": name, "first": seen[name], "second": position},
                line=line,
            )
        seen[name] = position
    missing = [name for name in required if name not in seen]
    if missing:
        # Quote what was found, briefly: a file that is not a table has a garbage header.
        found = [name if len(name) <= 40 else name[:39] + "…" for name in list(seen)[:12]]
        if len(seen) > len(found):
            found.append("…")
        raise ImportFileError(
            _("missing required column(s): %(missing)s (found: %(found)s).")
            % {"missing": ", ".join(missing), "found": ", ".join(found) or _("none")},
            line=line,
        )
