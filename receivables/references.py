"""The payment reference: what a customer is asked to quote on a transfer so that the
payment is matched to its invoices without a phone call. Emails, formal notices and the
recovery file all print this one reference, so a customer never receives two."""

from __future__ import annotations

import re
from collections.abc import Iterable

PAYMENT_REFERENCE_MAX = 140  # what a SEPA transfer's unstructured remittance field holds


def _natural(number: str) -> tuple:
    """ "F9" before "F10": digit runs compare as numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", number)
        if part
    )


def payment_reference(*, customer_ref: str, invoice_numbers: Iterable[str]) -> str:
    """The customer's account reference, then the invoice numbers (each once, in number
    order, whatever order they come in). When they do not all fit the remittance field,
    the last numbers are left out whole: a number cut in two could name another invoice,
    and an ellipsis is not in the SEPA character set."""
    reference = customer_ref
    for number in sorted(set(invoice_numbers), key=_natural):
        if len(reference) + 1 + len(number) > PAYMENT_REFERENCE_MAX:
            break
        reference = f"{reference} {number}"
    return reference
