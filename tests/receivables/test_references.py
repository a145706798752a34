"""The payment reference a customer quotes on a transfer (receivables/references.py)."""

import pytest

from receivables.references import (
    PAYMENT_REFERENCE_MAX,
    compact_reference,
    creditor_references_in,
    payment_reference,
)


def test_each_invoice_once_in_number_order():
    assert payment_reference(customer_ref="411A", invoice_numbers=["F2", "F1", "F2"]) == (
        "411A F1 F2"
    )
    # Digit runs compare as numbers, whatever order the caller lists the invoices in.
    assert payment_reference(customer_ref="411A", invoice_numbers=["F10", "F9"]) == "411A F9 F10"
    assert payment_reference(customer_ref="411A", invoice_numbers=[]) == "411A"


def test_what_does_not_fit_the_remittance_field_is_left_out_whole():
    numbers = [f"FAC-2026-{n:05d}" for n in range(1, 20)]
    reference = payment_reference(customer_ref="411LONG", invoice_numbers=numbers)
    assert len(reference) <= PAYMENT_REFERENCE_MAX
    kept = reference.split(" ")
    assert kept[0] == "411LONG" and kept[1:] == numbers[: len(kept) - 1]
    assert len(reference) + 1 + len(numbers[len(kept) - 1]) > PAYMENT_REFERENCE_MAX
    assert "…" not in reference


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Virement RF18 5390 0754 7034 merci", {"RF18539007547034"}),
        ("rf18539007547034", {"RF18539007547034"}),
        ("RF18539007547034MERCI", {"RF18539007547034"}),  # words glued after it
        ("RF19 5390 0754 7034", set()),  # wrong check digits
        ("RF12 invoice", set()),
        ("SURF18 5390 0754 7034", set()),  # not a word of its own
        ("", set()),
    ],
)
def test_creditor_references_are_found_even_spaced_and_checked(text, found):
    assert creditor_references_in(text) == found


def test_a_reference_is_compared_compact_and_in_capitals():
    assert compact_reference(" rf18 5390\t0754 7034 ") == "RF18539007547034"
