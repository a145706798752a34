"""What the customer's page shows: their statement (open invoices and installments,
payments and credit notes received), the company's bank details and, for the amount due
and each open invoice, the creditor reference and the EPC QR code. A fixed number of
queries whatever the number of invoices."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import ZERO
from core.payqr import qr_svg
from customers.models import Customer
from receivables.models import CompanyProfile, Installment, Invoice, Payment
from receivables.paying import customer_transfer, invoice_transfer
from receivables.references import (
    customer_creditor_reference,
    format_creditor_reference,
    invoice_creditor_reference,
)
from receivables.selectors import with_balances

RECENT = 20  # payments and credit notes shown


@dataclass
class OpenInvoice:
    invoice: Invoice
    installments: list[Installment] = field(default_factory=list)
    left: Decimal = ZERO
    days_late: int = 0
    reference: str = ""
    qr: str = ""  # an inline SVG, empty without the company's IBAN


@dataclass
class Statement:
    customer: Customer
    company: CompanyProfile
    today: datetime.date
    invoices: list[OpenInvoice]
    payments: list[Payment]
    credit_notes: list[Invoice]
    open_total: Decimal
    credit: Decimal
    amount_due: Decimal
    reference: str
    qr: str


def _svg(transfer) -> str:
    return qr_svg(transfer.payload()) if transfer is not None else ""


def statement(*, customer: Customer, today: datetime.date) -> Statement:
    company = CompanyProfile.get()
    installments = (
        Installment.objects.open()
        .filter(invoice__customer=customer, invoice__kind=Invoice.Kind.INVOICE)
        .select_related("invoice")
        .order_by("due_date", "invoice__number", "sequence")
    )
    by_invoice: dict[int, OpenInvoice] = {}
    for inst in installments:
        row = by_invoice.setdefault(inst.invoice_id, OpenInvoice(invoice=inst.invoice))
        inst.left = inst.amount - inst.paid_amount
        inst.days_late = max(0, (today - inst.due_date).days)
        row.installments.append(inst)
        row.left += inst.left
        row.days_late = max(row.days_late, inst.days_late)
    for row in by_invoice.values():
        row.reference = format_creditor_reference(
            invoice_creditor_reference(
                invoice_id=row.invoice.pk, payment_reference=row.invoice.payment_reference
            )
        )
        row.qr = _svg(
            invoice_transfer(
                company,
                invoice_id=row.invoice.pk,
                payment_reference=row.invoice.payment_reference,
                amount=row.left,
            )
        )
    balance = with_balances(Customer.objects.filter(pk=customer.pk), today).get()
    open_total = sum((row.left for row in by_invoice.values()), ZERO)
    # The net balance: what is open less the payments and credit notes not allocated yet.
    amount_due = max(balance.total, ZERO)
    credit = max(open_total - balance.total, ZERO)
    payments = list(Payment.objects.filter(customer=customer).order_by("-date", "-pk")[:RECENT])
    credit_notes = list(
        Invoice.objects.active()
        .credit_notes()
        .filter(customer=customer)
        .order_by("-issue_date", "-pk")[:RECENT]
    )
    return Statement(
        customer=customer,
        company=company,
        today=today,
        invoices=list(by_invoice.values()),
        payments=payments,
        credit_notes=credit_notes,
        open_total=open_total,
        credit=credit,
        amount_due=amount_due,
        reference=format_creditor_reference(customer_creditor_reference(customer.pk)),
        qr=_svg(customer_transfer(company, customer_id=customer.pk, amount=amount_due or None)),
    )


def owned_invoice(*, customer: Customer, pk: int) -> Invoice | None:
    """One of the customer's invoices (None for anybody else's)."""
    return Invoice.objects.filter(customer=customer, pk=pk).first()
