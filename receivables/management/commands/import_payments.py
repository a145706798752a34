"""``manage.py import_payments FILE [--dry-run]``: payments matched to invoices."""

from receivables.imports.command import ImportCommand
from receivables.imports.payments import PaymentImporter


class Command(ImportCommand):
    # A plain string: argparse formats it before any language is active.
    help = (
        "Import payments from a CSV or XLSX file and allocate each to its invoice, oldest "
        "installment first. Columns: invoice_number, payment_date, amount; optional "
        "reference, method. All or nothing; re-importing the same file changes nothing."
    )
    importer_class = PaymentImporter
