"""The ledger's models, one module per subject (company.py, disputes.py, imports.py,
invoices.py, payments.py, snapshots.py, figures.py); callers import from here."""

from receivables.models.bank import (
    BankTransaction,
    return_reason,
    status_reason_text,
)
from receivables.models.company import CompanyProfile, ReferenceRate
from receivables.models.disputes import Dispute, PromiseToPay, reminder_free_on
from receivables.models.figures import CustomerFigures, FiguresDay, InvoiceFigures, SalesDay
from receivables.models.imports import ColumnMapping, FecLine, ImportProgress, ImportRun
from receivables.models.invoices import (
    LEDGER_CURRENCY,
    Installment,
    Invoice,
    validate_ledger_currency,
)
from receivables.models.payments import Allocation, Payment
from receivables.models.portal import CustomerRequest, PaymentClaim
from receivables.models.snapshots import AgedBalanceSnapshot, AgedBalanceSnapshotRow

__all__ = [
    "LEDGER_CURRENCY",
    "AgedBalanceSnapshot",
    "AgedBalanceSnapshotRow",
    "Allocation",
    "BankTransaction",
    "ColumnMapping",
    "CompanyProfile",
    "CustomerFigures",
    "CustomerRequest",
    "Dispute",
    "FecLine",
    "FiguresDay",
    "ImportProgress",
    "ImportRun",
    "Installment",
    "Invoice",
    "InvoiceFigures",
    "Payment",
    "PaymentClaim",
    "PromiseToPay",
    "ReferenceRate",
    "SalesDay",
    "reminder_free_on",
    "return_reason",
    "status_reason_text",
    "validate_ledger_currency",
]
