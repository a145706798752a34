"""The payment reference: what a customer is asked to quote on a transfer so that the
payment is matched to its invoices without a phone call. Emails, formal notices and the
recovery file all print this one reference, so a customer never receives two."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

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


# --- ISO 11649 creditor references of our own ---------------------------------------------
#
# Relance gives each customer (for its whole amount due) and each invoice an ISO 11649
# creditor reference, printed on emails, letters and the customer's page and carried by
# the EPC QR code. Its body says what it names: "RL" (Relance), "C" or "I", then the row's
# id, e.g. RF71RLC42 for customer 42; the bank import reads it back (`named_by_references`)
# and a credit quoting it is matched for sure.

_OURS = re.compile(r"RF\d{2}RL([CI])([1-9]\d{0,17})")


def creditor_reference(body: str) -> str:
    """The ISO 11649 reference of ``body`` (letters and digits, at most 21): "RF", the two
    check digits (ISO 7064 mod 97-10 over the body followed by "RF"), the body."""
    body = compact_reference(body)
    if not re.fullmatch(r"[0-9A-Z]{1,21}", body):
        raise ValueError(f"not an ISO 11649 reference body: {body!r}")
    return iso11649.validate(f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}")


def customer_creditor_reference(customer_id: int) -> str:
    """The reference of a customer's whole amount due (paid oldest installment first)."""
    return creditor_reference(f"RLC{customer_id}")


def invoice_creditor_reference(*, invoice_id: int, payment_reference: str = "") -> str:
    """An invoice's reference: the RF reference it was issued with (an e-invoice's
    BT-83) when it has a valid one, else ours."""
    stored = compact_reference(payment_reference)
    if stored and iso11649.is_valid(stored):
        return stored
    return creditor_reference(f"RLI{invoice_id}")


def format_creditor_reference(reference: str) -> str:
    """Printed in groups of four ("RF18 5390 0754 7034"), as ISO 11649 recommends."""
    return iso11649.format(reference)


def named_by_references(tokens: Iterable[str]) -> tuple[set[int], set[int]]:
    """The ids of the invoices and of the customers that our own creditor references
    among ``tokens`` (compact, in capitals, checked) name: (invoice ids, customer ids)."""
    invoices: set[int] = set()
    customers: set[int] = set()
    for token in tokens:
        match = _OURS.fullmatch(token)
        if match and iso11649.is_valid(token):
            (customers if match.group(1) == "C" else invoices).add(int(match.group(2)))
    return invoices, customers
