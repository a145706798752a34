"""Findings of issue #12: a 1.5 KB XLSX declaring a sheet up to XFD1048576 grew the import
to 6 GB of memory; a 1 MB XLSX holding a 1 GiB shared string crashed with a traceback.
Each hostile file is built here (small on disk) and refused with a message naming the
limit, quickly, in little memory, and nothing is imported."""

import io
import re
import time
import tracemalloc
import zipfile

import openpyxl
import pytest

from receivables.imports import reader
from receivables.imports.errors import ImportFileError
from tests.receivables.import_helpers import run_command_failing
from tests.receivables.test_import_invoices import HEADER, snapshot

pytestmark = pytest.mark.django_db
ROW = ["411A", "Alpha", "F-1", "2026-01-05", "2026-02-04", "100.00"]
MB = 1024 * 1024


def workbook_bytes(rows=None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows or [HEADER.split(","), ROW]:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rewrite(data: bytes, name: str, change) -> bytes:
    """The same zip with member ``name`` passed through ``change`` (bytes -> bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == name:
                content = change(content)
            dst.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def refused(tmp_path, data: bytes, *, name="bomb.xlsx", max_mb: float = 30) -> str:
    """Import ``data``: it must be refused within a few seconds and ``max_mb`` of
    memory, with nothing imported; the message is returned."""
    path = tmp_path / name
    path.write_bytes(data)
    before = snapshot()
    tracemalloc.start()
    started = time.monotonic()
    try:
        _error, err = run_command_failing("import_invoices", path)
    finally:
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.monotonic() - started < 20
    assert peak < max_mb * MB, f"peak {peak / MB:.0f} MB"
    assert snapshot() == before
    assert "Traceback" not in err
    return err


def test_a_sheet_declared_up_to_xfd1048576_is_refused(tmp_path):
    data = rewrite(
        workbook_bytes(),
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml),
    )
    assert len(data) < 10_000
    message = refused(tmp_path, data)
    assert f"more than {reader.MAX_ROWS} rows" in message


def test_a_cell_in_the_last_row_is_refused_without_reading_a_million_rows(tmp_path):
    def far_row(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension [^>]*/>", b"", xml)
        return xml.replace(
            b"</sheetData>",
            b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
            b"</sheetData>",
        )

    message = refused(tmp_path, rewrite(workbook_bytes(), "xl/worksheets/sheet1.xml", far_row))
    assert f"more than {reader.MAX_ROWS} rows" in message


def test_a_cell_in_column_xfd_is_refused(tmp_path):
    def far_column(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD2"/>', xml)
        return xml.replace(
            b"</row></sheetData>",
            b'<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
        )

    message = refused(tmp_path, rewrite(workbook_bytes(), "xl/worksheets/sheet1.xml", far_column))
    assert f"more than {reader.MAX_COLUMNS} columns" in message


def test_a_value_just_past_the_last_column_is_refused(tmp_path):
    header = HEADER.split(",")
    row = ROW + [None] * (reader.MAX_COLUMNS - len(ROW)) + ["stray"]
    message = refused(tmp_path, workbook_bytes([header, row]))
    assert f"more than {reader.MAX_COLUMNS} columns" in message


@pytest.fixture(scope="module")
def shared_string_bomb(tmp_path_factory) -> bytes:
    """About 1 MB on disk: a workbook whose shared strings unpack to 1 GiB."""
    path = tmp_path_factory.mktemp("bombs") / "strings.xlsx"
    base = workbook_bytes()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
        member = zipfile.ZipInfo("xl/sharedStrings.xml")
        member.compress_type = zipfile.ZIP_DEFLATED
        # Written in chunks: the test never holds the gigabyte either.
        with dst.open(member, "w", force_zip64=True) as stream:
            stream.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            stream.write(b"<si><t>")
            chunk = b"A" * MB
            for _ in range(1024):
                stream.write(chunk)
            stream.write(b"</t></si></sst>")
    return path.read_bytes()


def test_a_gigabyte_shared_string_is_refused_without_unpacking_it(tmp_path, shared_string_bomb):
    assert len(shared_string_bomb) < 3 * MB
    message = refused(tmp_path, shared_string_bomb)
    assert "unpacks to 1024 MB, more than the limit of 100 MB" in message


def test_a_member_compressed_a_thousand_times_is_refused(tmp_path):
    def padded(xml: bytes) -> bytes:  # 20 MB of blanks: under the size limit
        return xml.replace(b"</worksheet>", b" " * (20 * MB) + b"</worksheet>")

    data = rewrite(workbook_bytes(), "xl/worksheets/sheet1.xml", padded)
    assert len(data) < MB
    message = refused(tmp_path, data)
    assert f"compressed more than {reader.MAX_COMPRESSION_RATIO} times" in message


def test_a_corrupt_member_is_a_clear_message(tmp_path):
    data = bytearray(workbook_bytes())
    start = data.index(b"PK\x03\x04", 10)  # damage the second member's compressed data
    data[start + 60 : start + 90] = b"\xff" * 30
    message = refused(tmp_path, bytes(data))
    assert "not a readable XLSX workbook" in message


def test_an_overlong_cell_is_refused_with_its_line(tmp_path):
    path = tmp_path / "long.csv"
    name = "A" * (reader.MAX_CELL_CHARS + 1)
    path.write_text(f"{HEADER}\n411A,{name},F-1,2026-01-05,2026-02-04,100.00\n")
    with pytest.raises(ImportFileError) as info:
        reader.read_table(path, required=HEADER.split(","))
    assert info.value.error.line == 2
    assert f"more than the limit of {reader.MAX_CELL_CHARS}" in str(info.value)


def test_too_many_csv_lines_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_ROWS", 5)
    path = tmp_path / "many.csv"
    lines = [f"411A,Alpha,F-{n},2026-01-05,2026-02-04,1.00" for n in range(6)]
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    message = refused(tmp_path, path.read_bytes(), name="many.csv")
    assert "more than 5 rows" in message


def test_an_ordinary_workbook_still_reads(tmp_path):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(workbook_bytes())
    table = reader.read_table(path, required=HEADER.split(","))
    assert table.rows[0][1]["invoice_number"] == "F-1"
