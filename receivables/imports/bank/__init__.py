"""Bank statements: reading them (``statements``), recognising who paid what
(``matching``) and importing them into the ledger (``importer``)."""

from receivables.imports.bank.importer import BankImporter, BankPlan
from receivables.imports.bank.matching import TOKEN, invoice_numbers_named
from receivables.imports.bank.statements import BankLine, read_statement
from receivables.models import return_reason

__all__ = [
    "TOKEN",
    "BankImporter",
    "BankLine",
    "BankPlan",
    "invoice_numbers_named",
    "read_statement",
    "return_reason",
]
