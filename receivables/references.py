"""The payment reference: what a customer is asked to quote on a transfer so that the
payment is matched to its invoices without a phone call. Emails, formal notices and the
recovery file all print this one reference, so a customer never receives two."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stdnum import iso11649

PAYMENT_REFERENCE_MAX = 140  # what a SEPA transfer's unstructured remittance field holds


def compact_reference(value: str) -> str:
    """A reference as it is stored and compared: without spaces, in capitals (banks and
    payers write "RF18 5390 0754 7034" or "rf18539007547034")."""
    return re.sub(r"\s+", "", value).upper()


def creditor_references_in(text: str) -> set[str]:
    """The ISO 11649 creditor references ("RF" and two check digits, up to 21 letters or
    digits) that ``text`` quotes, even split by spaces, compacted; only those whose check
    digits are right, so "RF12 invoice" quotes nothing."""
    found = set()
    for match in _RF_START.finditer(text):
        tail = re.sub(r"\s+", "", text[match.end() : match.end() + 42])
        run = re.match(r"[0-9A-Za-z]{1,21}", tail)
        if not run:
            continue
        # The longest valid reference wins: words may follow it without a separator.
        for end in range(len(run.group()), 0, -1):
            candidate = (match.group() + run.group()[:end]).upper()
            if iso11649.is_valid(candidate):
                found.add(candidate)
                break
    return found


_RF_START = re.compile(r"\bRF\d{2}", re.IGNORECASE)


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
