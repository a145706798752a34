"""Writes to the ledger (``invoices``: creating invoices; ``ledger``: payments, credit
notes, allocation), its audited corrections (``corrections``) and the
bank matching queue (``bank``)."""

from receivables.services.bank import (
    bank_transaction_assign,
    bank_transaction_confirm,
    bank_transaction_set_aside,
    bank_transaction_set_aside_undo,
    bank_transaction_split,
)
from receivables.services.corrections import (
    balance_write_off,
    credit_apply,
    credit_note_allocate,
    credit_note_issue,
    invoice_cancel,
    invoice_update,
    payment_reallocate,
)
from receivables.services.invoices import (
    EntryRefused,
    NewInvoice,
    invoice_create,
    invoices_create_many,
)
from receivables.services.ledger import (
    allocations_release,
    credit_note_create,
    payment_allocate,
    payment_record,
    payment_return,
)

__all__ = [
    "EntryRefused",
    "NewInvoice",
    "allocations_release",
    "balance_write_off",
    "bank_transaction_assign",
    "bank_transaction_confirm",
    "bank_transaction_set_aside",
    "bank_transaction_set_aside_undo",
    "bank_transaction_split",
    "credit_apply",
    "credit_note_allocate",
    "credit_note_create",
    "credit_note_issue",
    "invoice_cancel",
    "invoice_create",
    "invoice_update",
    "invoices_create_many",
    "payment_allocate",
    "payment_reallocate",
    "payment_record",
    "payment_return",
]
