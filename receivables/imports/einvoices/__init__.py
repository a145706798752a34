"""Electronic invoices: reading Factur-X, UBL and CII (``documents``) and importing
them into the ledger (``importer``)."""

from receivables.imports.einvoices.documents import (
    EDocument,
    EInvoiceError,
    Party,
    parse_document,
    read_bytes,
    read_file,
)
from receivables.imports.einvoices.importer import EInvoicePlan, apply, describe, plan_document

__all__ = [
    "EDocument",
    "EInvoiceError",
    "EInvoicePlan",
    "Party",
    "apply",
    "describe",
    "parse_document",
    "plan_document",
    "read_bytes",
    "read_file",
]
