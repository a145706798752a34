"""``manage.py import_invoices FILE [--dry-run]``: customers and invoices from CSV/XLSX."""

from receivables.imports.command import ImportCommand
from receivables.imports.invoices import InvoiceImporter


class Command(ImportCommand):
    # A plain string: argparse formats it before any language is active.
    help = (
        "Import invoices (and their customers, billing emails and sales reps) from a CSV or "
        "XLSX file. Columns: customer_ref, customer_name, invoice_number, issue_date, "
        "due_date, amount; optional currency, po_number, customer_email, sales_rep. "
        "All or nothing; re-importing the same file changes nothing."
    )
    importer_class = InvoiceImporter
