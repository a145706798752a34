"""What a customer is asked to pay, ready for a banking app: the EPC QR code's credit
transfer to the company, for a customer's amount due or one invoice, with its ISO 11649
creditor reference (receivables/references.py). Emails, letters and the customer's page
all build it here, so they never disagree."""

from __future__ import annotations

from decimal import Decimal

from core.payqr import MAX_AMOUNT, MIN_AMOUNT, CreditTransfer, PaymentQRError, epc_payload
from receivables.models import CompanyProfile
from receivables.references import customer_creditor_reference, invoice_creditor_reference


def transfer_to(
    company: CompanyProfile, *, amount: Decimal | None, reference: str
) -> CreditTransfer | None:
    """The transfer of ``amount`` quoting ``reference`` to the company's account; None
    when the company has no valid IBAN yet (nothing to scan). An amount the EPC code
    cannot carry (nothing due, a credit) is left for the payer to type."""
    if amount is not None and not (MIN_AMOUNT <= amount <= MAX_AMOUNT):
        amount = None
    transfer = CreditTransfer(
        name=company.name, iban=company.iban, bic=company.bic, amount=amount, reference=reference
    )
    try:
        epc_payload(transfer)
    except PaymentQRError:
        return None
    return transfer


def customer_transfer(
    company: CompanyProfile, *, customer_id: int, amount: Decimal | None
) -> CreditTransfer | None:
    """The customer's amount due, quoting the customer's creditor reference."""
    return transfer_to(company, amount=amount, reference=customer_creditor_reference(customer_id))


def invoice_transfer(
    company: CompanyProfile, *, invoice_id: int, payment_reference: str, amount: Decimal | None
) -> CreditTransfer | None:
    """What is open on one invoice, quoting the invoice's creditor reference."""
    return transfer_to(
        company,
        amount=amount,
        reference=invoice_creditor_reference(
            invoice_id=invoice_id, payment_reference=payment_reference
        ),
    )
