"""Writes to the ledger (``ledger``) and its audited corrections (``corrections``)."""

from receivables.services.corrections import (
    balance_write_off,
    credit_apply,
    credit_note_allocate,
    credit_note_issue,
    invoice_cancel,
    invoice_update,
    payment_reallocate,
)
from receivables.services.ledger import (
    credit_note_create,
    invoice_create,
    payment_allocate,
    payment_record,
    payment_return,
)

__all__ = [
    "balance_write_off",
    "credit_apply",
    "credit_note_allocate",
    "credit_note_create",
    "credit_note_issue",
    "invoice_cancel",
    "invoice_create",
    "invoice_update",
    "payment_allocate",
    "payment_reallocate",
    "payment_record",
    "payment_return",
]
