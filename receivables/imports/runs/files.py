"""What an uploaded file is, and its spreadsheet columns.

The kind is recognised from the content, never from the name: a PDF is an e-invoice
(Factur-X / ZUGFeRD), an XML file a UBL or CII e-invoice or a camt.053 statement by its
namespace, a text file whose header names the FEC columns a FEC, and any other table
(CSV comma or semicolon, UTF-8 or the Windows-1252 French Excel writes, or XLSX) is the
invoice, payment or bank-statement layout its header fits best. A layout seen before is
recognised by its header fingerprint, with the column mapping the user chose then.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from receivables.imports.bank.statements import CSV_OPTIONAL, CSV_REQUIRED
from receivables.imports.einvoices.documents import CII, UBL_CREDIT_NOTE, UBL_INVOICE
from receivables.imports.errors import ImportFileError
from receivables.imports.invoices import InvoiceImporter
from receivables.imports.parsing import cell_text, fold
from receivables.imports.payments import PaymentImporter
from receivables.imports.reader import MAX_FILE_BYTES, Table, read_table_data
from receivables.models import ColumnMapping, ImportRun

Kind = ImportRun.Kind

# The spreadsheet kinds and their (required, optional) columns, as the importers name them.
TABLE_KINDS: dict[str, tuple[Sequence[str], Sequence[str]]] = {
    Kind.INVOICES: (InvoiceImporter.required, InvoiceImporter.optional),
    Kind.PAYMENTS: (PaymentImporter.required, PaymentImporter.optional),
    Kind.BANK: (CSV_REQUIRED, CSV_OPTIONAL),
}

# Headers people write for the expected columns (compared folded: lower case, no
# accents, punctuation as underscores). Only unambiguous ones; the rest is mapped by hand.
ALIASES = {
    "numero_facture": "invoice_number",
    "n_facture": "invoice_number",
    "no_facture": "invoice_number",
    "invoice_no": "invoice_number",
    "code_client": "customer_ref",
    "reference_client": "customer_ref",
    "nom_client": "customer_name",
    "raison_sociale": "customer_name",
    "date_facture": "issue_date",
    "date_emission": "issue_date",
    "date_echeance": "due_date",
    "echeance": "due_date",
    "montant": "amount",
    "montant_ttc": "amount",
    "devise": "currency",
    "date_paiement": "payment_date",
    "date_reglement": "payment_date",
    "mode_reglement": "method",
    "libelle": "reference",
}

FEC_MARKERS = ("journalcode", "journallib", "ecriturenum")
_BOM = b"\xef\xbb\xbf"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Detected:
    """What an upload was recognised as: its kind and, for a spreadsheet, its columns,
    row count and the mapping proposed (remembered, or guessed from the names)."""

    kind: str
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)


def fingerprint(columns: Sequence[str]) -> str:
    """The identity of a header row (its normalised names, in order)."""
    return hashlib.sha256("\x1f".join(columns).encode()).hexdigest()


def expected_columns(kind: str) -> tuple[Sequence[str], Sequence[str]]:
    return TABLE_KINDS[kind]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", fold(name)).strip("_")


def guess_mapping(kind: str, columns: Sequence[str]) -> dict[str, str]:
    """Each file column whose name (or a known alias) is an expected column, mapped to
    it; the first one wins when two would claim the same."""
    required, optional = TABLE_KINDS[kind]
    expected = set(required) | set(optional)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        slug = _slug(column)
        target = slug if slug in expected else ALIASES.get(slug, "")
        if target in expected and target not in taken:
            mapping[column] = target
            taken.add(target)
    return mapping


def proposed_mapping(kind: str, columns: Sequence[str]) -> dict[str, str]:
    """The mapping remembered for this layout, else the one guessed from the names."""
    remembered = ColumnMapping.objects.filter(kind=kind, fingerprint=fingerprint(columns)).first()
    if remembered is not None:
        return {c: t for c, t in remembered.mapping.items() if c in columns and t}
    return guess_mapping(kind, columns)


def mapping_problems(kind: str, columns: Sequence[str], mapping: dict[str, str]) -> list[str]:
    """Why ``mapping`` cannot be used (empty when it can): an unknown column or target,
    a target chosen twice, a required column left unmapped."""
    required, optional = TABLE_KINDS[kind]
    expected = set(required) | set(optional)
    problems: list[str] = []
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        if not target:
            continue
        if column not in columns or target not in expected:
            problems.append(_("%(column)s cannot be mapped to %(target)s.") % {
                "column": column, "target": target})  # fmt: skip
        elif target in seen:
            problems.append(
                _("%(target)s is chosen for both %(first)s and %(second)s.")
                % {"target": target, "first": seen[target], "second": column}
            )
        else:
            seen[target] = column
    missing = [name for name in required if name not in seen]
    if missing:
        problems.append(
            _("Choose a file column for: %(missing)s.") % {"missing": ", ".join(missing)}
        )
    return problems


def table_bytes(data: bytes) -> bytes:
    """A spreadsheet's bytes as the reader takes them: a CSV that is not UTF-8 but reads
    as Windows-1252 (what French Excel writes) is converted to UTF-8; anything else is
    left for the reader to accept or refuse with its own message."""
    if data.startswith(_ZIP_MAGIC) or b"\x00" in data:
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252").encode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(
                _("The file is neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8 or XLSX.")
            ) from None
    return data


def read_spreadsheet(data: bytes, name: str) -> Table:
    """Every column of the file, by its normalised name (nothing required yet)."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    return read_table_data(table_bytes(data), suffix=suffix, required=())


def mapped_table(table: Table, mapping: dict[str, str]) -> Table:
    """``table`` with its columns renamed as ``mapping`` says; unmapped ones ignored.
    Line numbers are the file's own."""
    rename = {column: target for column, target in mapping.items() if target}
    return Table(
        columns=[rename[c] for c in table.columns if c in rename],
        rows=[
            (line, {rename[c]: v for c, v in row.items() if c in rename})
            for line, row in table.rows
        ],
        header_line=table.header_line,
        format=table.format,
        ignored_columns=[c for c in table.columns if c not in rename],
        errors=list(table.errors),
    )


def table_csv(table: Table) -> bytes:
    """``table`` written back as UTF-8 CSV, each row on its original line number (blank
    lines fill the gaps), for an importer that reads a file itself."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")

    def pad_to(line: int) -> None:
        written = out.getvalue().count("\n") + 1
        out.write("\n" * max(0, line - written))

    pad_to(table.header_line)
    writer.writerow(table.columns)
    for line, row in table.rows:
        pad_to(line)
        writer.writerow([cell_text(row.get(c)) for c in table.columns])
    return out.getvalue().encode("utf-8")


def _xml_kind(data: bytes) -> str:
    head = data[: 64 * 1024].decode("latin-1")
    if "camt.053" in head:
        return Kind.BANK
    if any(ns in head for ns in (CII, UBL_INVOICE, UBL_CREDIT_NOTE)):
        return Kind.EINVOICE
    raise ImportFileError(
        _(
            "This XML file is neither an e-invoice (Factur-X, UBL or CII) nor a camt.053 "
            "bank statement."
        )
    )


def _is_fec(data: bytes) -> bool:
    first = data[:4096].split(b"\n", 1)[0].decode("latin-1").lower()
    return ("\t" in first or "|" in first) and all(m in first for m in FEC_MARKERS)


def _table_kind(columns: Sequence[str]) -> str:
    """The spreadsheet kind of a header: a layout remembered for this header, else the
    kind whose columns it names most (required ones break ties)."""
    remembered = (
        ColumnMapping.objects.filter(fingerprint=fingerprint(columns), kind__in=list(TABLE_KINDS))
        .order_by("-updated_at")
        .first()
    )
    if remembered is not None:
        return remembered.kind
    best, best_score = "", (0, 0.0)
    for kind, (required, _optional) in TABLE_KINDS.items():
        guessed = set(guess_mapping(kind, columns).values())
        score = (len(guessed), len(guessed & set(required)) / len(required))
        if score > best_score:
            best, best_score = kind, score
    if not best:
        shown = ", ".join(columns[:12]) or _("none")
        raise ImportFileError(
            _(
                "Relance cannot tell what this file holds: its columns (%(columns)s) match "
                "none of the invoice, payment or bank statement layouts."
            )
            % {"columns": shown}
        )
    return best


def detect(data: bytes, name: str) -> Detected:
    """The kind of an uploaded file; raises ImportFileError with a message saying why a
    file is not accepted (too big, empty, unknown)."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(size)d MB; split it.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(b"%PDF"):
        return Detected(kind=Kind.EINVOICE, rows=1)
    head = data.lstrip(_BOM + b" \t\r\n")
    if head.startswith(b"<"):
        return Detected(kind=_xml_kind(head), rows=0)
    if not data.startswith(_ZIP_MAGIC) and _is_fec(data.removeprefix(_BOM)):
        return Detected(kind=Kind.FEC, rows=max(0, data.count(b"\n") - 1))
    table = read_spreadsheet(data, name)
    kind = _table_kind(table.columns)
    return Detected(
        kind=kind,
        rows=len(table.rows),
        columns=list(table.columns),
        mapping=proposed_mapping(kind, table.columns),
    )
