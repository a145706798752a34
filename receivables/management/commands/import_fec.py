"""``manage.py import_fec FILE [--dry-run]``: the customer accounts of a FEC export."""

from receivables.imports.base import Importer
from receivables.imports.command import ImportCommand
from receivables.imports.fec import FecImporter, read_fec
from receivables.imports.reader import Table


class Command(ImportCommand):
    # A plain string: argparse formats it before any language is active.
    help = (
        "Import the customer accounts (411) of a FEC export (tab or pipe separated): debit "
        "lines become invoices, credit lines payments or credit notes, lettering becomes "
        "allocations. All or nothing; re-importing the same books changes nothing."
    )
    importer_class = FecImporter

    def read(self, path: str, importer: Importer) -> Table:
        return read_fec(path)
