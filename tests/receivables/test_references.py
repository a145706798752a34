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


# --- ISO 11649 creditor references of our own ---------------------------------------------


def test_iso_11649_published_example():
    # ISO 11649's example: the body 539007547034 gets the check digits 18.
    from receivables.references import creditor_reference, format_creditor_reference

    assert creditor_reference("539007547034") == "RF18539007547034"
    assert format_creditor_reference("RF18539007547034") == "RF18 5390 0754 7034"
    # Letters count as 10..35 (A..Z) in the mod 97-10 checksum.
    assert creditor_reference("5390 0754 70Y") == "RF185390075470Y"


@pytest.mark.parametrize("customer_id", [1, 42, 999_999, 10**17])
def test_a_customers_reference_is_valid_and_names_it_back(customer_id):
    from stdnum import iso11649

    from receivables.references import customer_creditor_reference, named_by_references

    reference = customer_creditor_reference(customer_id)
    assert iso11649.is_valid(reference) and len(reference) <= 25
    assert named_by_references({reference}) == (set(), {customer_id})


def test_an_invoices_reference_is_its_own_rf_reference_when_it_has_one():
    from receivables.references import invoice_creditor_reference, named_by_references

    assert invoice_creditor_reference(invoice_id=7, payment_reference="rf18 5390 0754 7034") == (
        "RF18539007547034"
    )
    # A payment reference that is no valid RF reference: ours.
    ours = invoice_creditor_reference(invoice_id=7, payment_reference="411A F1")
    assert ours.startswith("RF") and ours.endswith("RLI7")
    assert named_by_references({ours}) == ({7}, set())


def test_a_reference_with_wrong_check_digits_or_not_ours_names_nothing():
    from receivables.references import customer_creditor_reference, named_by_references

    good = customer_creditor_reference(42)
    wrong = good[:2] + f"{(int(good[2:4]) + 1) % 100:02d}" + good[4:]
    assert named_by_references({wrong, "RF18539007547034", "RLC42", "F-100"}) == (set(), set())


def test_a_body_that_is_not_letters_and_digits_is_refused():
    from receivables.references import creditor_reference

    with pytest.raises(ValueError):
        creditor_reference("A-B")
    with pytest.raises(ValueError):
        creditor_reference("1" * 22)
