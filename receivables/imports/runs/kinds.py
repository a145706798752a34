"""Each kind of import as the page drives it: the same readers and importers as the
commands (validate, describe, apply), fed from the uploaded bytes.

``plan`` reads the file and validates it without writing (it raises ImportFileError for
a file that cannot be read at all); ``describe`` and ``apply`` are the importer's own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from receivables.imports import einvoices
from receivables.imports.bank import BankImporter
from receivables.imports.base import Importer, Outcome, Progressive
from receivables.imports.errors import RowError
from receivables.imports.fec import FecImporter, read_fec
from receivables.imports.invoices import InvoiceImporter
from receivables.imports.parsing import cell_text
from receivables.imports.payments import PaymentImporter
from receivables.imports.runs.files import mapped_table, read_spreadsheet, table_csv
from receivables.models import ImportRun

Kind = ImportRun.Kind
SAMPLE_ROWS = 5
FEC_KINDS = {
    "invoice": gettext_lazy("invoice"),
    "credit_note": gettext_lazy("credit note"),
    "payment": gettext_lazy("payment"),
}


class NeedsConfirmation(einvoices.EInvoiceError):
    """An e-invoice refused only for warnings, which the user may confirm on the page.
    The importer's advice to the command line (``--confirmed``) is left out."""

    def __init__(self, message: str) -> None:
        hint = _("%(warnings)s Add --confirmed to import it anyway.") % {"warnings": ""}
        super().__init__(message.replace(hint.strip(), "").strip())


@dataclass
class Planned:
    """A validated file: the importer's plan, every refusal with its line, a few rows
    of what it would create (column → text), and how to describe or write it."""

    plan: Any
    errors: list[RowError]
    describe: Callable[[Any], Outcome]
    apply: Callable[[Any], Outcome]
    sample: dict[str, list] = field(default_factory=dict)
    importer: Progressive | None = None  # told the rows written, for the progress bar


def _sample(headers: dict[str, str], rows: list[dict[str, str]]) -> dict[str, list]:
    """A few rows as ``{"columns": [label...], "rows": [[text...]...]}`` (JSON-ready)."""
    return {
        "columns": list(headers.values()),
        "rows": [[row.get(key, "") for key in headers] for row in rows[:SAMPLE_ROWS]],
    }


def _with_file(data: bytes, name: str, read: Callable[[Path], Any]) -> Any:
    """``read`` given a path holding ``data``: for the readers that open files."""
    with tempfile.TemporaryDirectory(prefix="relance-import-") as folder:
        path = Path(folder) / (Path(name).name or "upload")
        path.write_bytes(data)
        return read(path)


def _day(value: Any) -> str:
    return date_format(value, "SHORT_DATE_FORMAT") if value else ""


def _table_plan(run: ImportRun, data: bytes, importer: Importer) -> Planned:
    table = mapped_table(read_spreadsheet(data, run.file_name), run.mapping)
    plan, errors = importer.validate(table)
    refused = {e.line for e in errors.sorted()}
    columns = [c for c in (*importer.required, *importer.optional) if c in table.columns]
    sample = _sample(
        {c: c for c in columns},
        [
            {c: cell_text(row.get(c)) for c in columns}
            for line, row in table.rows[: SAMPLE_ROWS + len(refused)]
            if line not in refused
        ],
    )
    return Planned(
        plan, errors.sorted(), importer.describe, importer.apply, sample, importer=importer
    )


def _bank_plan(run: ImportRun, data: bytes) -> Planned:
    importer = BankImporter()
    shape_errors: list[RowError] = []
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        table = mapped_table(read_spreadsheet(data, run.file_name), run.mapping)
        # Rewritten with the expected headers; row-shape errors do not survive it.
        shape_errors = table.errors
        data = table_csv(table)
        name = "statement.csv"
    else:
        name = "statement.xml"
    plan, errors = _with_file(data, name, importer.validate)
    for error in shape_errors:
        errors.add(error.line, error.message)
    plan.source = run.file_name[:255]
    sample = _sample(
        {
            "date": _("Date"),
            "amount": _("Amount"),
            "counterparty": _("Counterparty"),
            "reference": _("Reference"),
            "status": _("Outcome"),
        },
        [
            {
                "date": _day(line.date),
                "amount": str(line.amount if line.amount is not None else ""),
                "counterparty": line.counterparty_name,
                "reference": line.references()[:80],
                "status": str(line.status_reason or line.status),
            }
            for line in plan.lines[:SAMPLE_ROWS]
        ],
    )
    return Planned(
        plan, errors.sorted(), importer.describe, importer.apply, sample, importer=importer
    )


def _fec_plan(run: ImportRun, data: bytes) -> Planned:
    importer = FecImporter()
    table = _with_file(data, "fec.txt", read_fec)
    plan, errors = importer.validate(table)
    sample = _sample(
        {
            "line": _("Line"),
            "customer": _("Customer"),
            "kind": _("Kind"),
            "number": _("Number"),
            "date": _("Date"),
            "amount": _("Amount"),
        },
        [
            {
                "line": str(row.line),
                "customer": f"{row.customer_ref} {row.customer_name}".strip(),
                "kind": str(FEC_KINDS.get(row.kind, row.kind)),
                "number": row.number,
                "date": _day(row.date),
                "amount": str(row.amount),
            }
            for row in plan.new_rows[:SAMPLE_ROWS]
        ],
    )
    return Planned(
        plan, errors.sorted(), importer.describe, importer.apply, sample, importer=importer
    )


def _einvoice_plan(run: ImportRun, data: bytes) -> Planned:
    document, pdf = einvoices.read_bytes(data)
    try:
        plan = einvoices.plan_document(document, pdf, confirmed=run.confirmed)
    except einvoices.EInvoiceError as exc:
        if run.confirmed:
            raise
        try:
            einvoices.plan_document(document, pdf, confirmed=True)
        except einvoices.EInvoiceError:
            raise exc from None
        raise NeedsConfirmation(exc.error.message) from exc
    sample = _sample(
        {
            "number": _("Number"),
            "syntax": _("Format"),
            "buyer": _("Customer"),
            "issue_date": _("Issue date"),
            "due_date": _("Due date"),
            "total": _("Total with tax"),
            "amount_due": _("Amount due"),
            "currency": _("Currency"),
        },
        [
            {
                "number": document.number,
                "syntax": document.syntax,
                "buyer": plan.customer.name,
                "issue_date": _day(document.issue_date),
                "due_date": _day(plan.due_date),
                "total": str(document.total),
                "amount_due": str(document.due),
                "currency": document.currency,
            }
        ],
    )
    return Planned(plan, [], einvoices.describe, einvoices.apply, sample)


def plan_run(run: ImportRun, data: bytes) -> Planned:
    """Read and validate ``run``'s file (``data``) as its kind; writes nothing (the
    e-invoice planner raises on refusal, which the caller reports like the others)."""
    if run.kind == Kind.INVOICES:
        return _table_plan(run, data, InvoiceImporter())
    if run.kind == Kind.PAYMENTS:
        return _table_plan(run, data, PaymentImporter())
    if run.kind == Kind.BANK:
        return _bank_plan(run, data)
    if run.kind == Kind.FEC:
        return _fec_plan(run, data)
    if run.kind == Kind.EINVOICE:
        return _einvoice_plan(run, data)
    raise ValueError(f"unknown import kind {run.kind!r}")
