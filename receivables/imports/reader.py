"""Reading an import file (CSV or XLSX) as a header and numbered rows.

The format is recognised from the content, not trusted from the extension: finance
staff rename files, and Excel happily saves semicolon "CSV" in Latin-1 or UTF-16. Any
file that is not a readable table raises :class:`ImportFileError` with a message saying
what to do, never a traceback.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
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
# Bounds that keep a hostile workbook (a "zip bomb", a sheet declared up to XFD1048576, a
# gigabyte shared string) from exhausting memory or time: checked on the zip's members,
# declared and real, before openpyxl reads anything, then while the sheet is read.
MAX_ROWS = 100_000  # rows of the sheet or lines of the CSV, header and blank ones included
MAX_COLUMNS = 100
MAX_CELL_CHARS = 10_000
MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_XLSX_MEMBERS = 1_000
MAX_COMPRESSION_RATIO = 200  # XML sheets compress 5-50 times; bombs a thousand times
_RATIO_FROM_BYTES = 1024 * 1024  # small members may compress more: they cannot hurt
_CHUNK = 1024 * 1024


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


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def check_xlsx_archive(data: bytes) -> None:
    """Refuse a workbook whose zip would unpack to more than :data:`MAX_XLSX_UNCOMPRESSED`
    bytes, whose members compress suspiciously well, or that holds too many members:
    from the declared sizes first, then by unpacking each member in chunks and counting
    (a declared size can lie), so no more than one chunk is ever held in memory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        if len(members) > MAX_XLSX_MEMBERS:
            raise ImportFileError(
                _("The workbook holds more than %(limit)d parts: it is not a spreadsheet.")
                % {"limit": MAX_XLSX_MEMBERS}
            )
        declared = sum(m.file_size for m in members)
        if declared > MAX_XLSX_UNCOMPRESSED:
            raise ImportFileError(
                _(
                    "The workbook unpacks to %(size)s MB, more than the limit of %(limit)s MB: "
                    "save only the sheet to import, or use CSV."
                )
                % {"size": _mb(declared), "limit": _mb(MAX_XLSX_UNCOMPRESSED)}
            )
        budget = MAX_XLSX_UNCOMPRESSED
        for member in members:
            real = 0
            with archive.open(member) as stream:
                while chunk := stream.read(_CHUNK):
                    real += len(chunk)
                    budget -= len(chunk)
                    if budget < 0:
                        raise ImportFileError(
                            _("The workbook unpacks to more than the limit of %(limit)s MB.")
                            % {"limit": _mb(MAX_XLSX_UNCOMPRESSED)}
                        )
            size = max(real, member.file_size)
            if size > _RATIO_FROM_BYTES and size > MAX_COMPRESSION_RATIO * max(
                member.compress_size, 1
            ):
                raise ImportFileError(
                    _(
                        "The workbook is compressed more than %(limit)d times (%(name)s): "
                        "it is refused as a possible zip bomb."
                    )
                    % {"limit": MAX_COMPRESSION_RATIO, "name": member.filename[:80]}
                )
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ImportFileError(
            _("The file is not a readable XLSX workbook (%(reason)s).") % {"reason": exc}
        ) from exc


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(limit)d rows: split it.") % {"limit": MAX_ROWS}
    )


def _too_many_columns() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(limit)d columns: delete the ones not imported.")
        % {"limit": MAX_COLUMNS}
    )


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    check_xlsx_archive(data)
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
        # The sheet's declared size is only a claim (A1:XFD1048576 in a 1.5 KB file): a
        # claim beyond the limits is refused, then the real cells are read within them
        # (a stray cell beyond the last column read is ignored, as no column is there).
        if (sheet.max_row or 0) > MAX_ROWS:
            raise _too_many_rows()
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise _too_many_columns()
        sheet.reset_dimensions()
        # Row numbers are the sheet's own: read-only sheets yield empty rows for gaps.
        rows: list[list[object]] = []
        try:
            for row in sheet.iter_rows(
                max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS + 1, values_only=True
            ):
                if len(rows) >= MAX_ROWS:
                    raise _too_many_rows()
                if len(row) > MAX_COLUMNS and row[MAX_COLUMNS] is not None:
                    raise _too_many_columns()
                values: list[object] = list(row[:MAX_COLUMNS])
                while values and values[-1] is None:  # a gap row costs nothing
                    values.pop()
                rows.append(values)
        except ImportFileError:
            raise
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
    for count, (line, values) in enumerate(raw_rows, start=1):
        if count > MAX_ROWS:
            raise _too_many_rows()
        if len(values) > MAX_COLUMNS and not _is_blank(values[MAX_COLUMNS:]):
            raise _too_many_columns()
        for value in values:
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise ImportFileError(
                    _("a cell holds %(size)d characters, more than the limit of %(limit)d.")
                    % {"size": len(value), "limit": MAX_CELL_CHARS},
                    line=line,
                )
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
