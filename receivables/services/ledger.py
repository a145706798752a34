"""Writes to the ledger: payments, credit notes, allocations and their release (invoices
are created by receivables/services/invoices.py).

Each service is atomic and keeps the denormalised sums (``Installment.paid_amount``,
``Payment.allocated_amount``) equal to the allocations, which the database then checks
(never beyond what is due, never beyond what was paid).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core import webhooks
from core.money import ZERO, format_money_active
from customers.models import Activity, Customer
from receivables import bounds, figures
from receivables.models import (
    LEDGER_CURRENCY,
    Allocation,
    Installment,
    Invoice,
    Payment,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _allocate(
    *,
    installments: Iterable[Installment],
    available: Decimal,
    date: datetime.date,
    payment: Payment | None = None,
    credit_note: Invoice | None = None,
) -> Decimal:
    """Allocate up to ``available`` to ``installments`` in the order given (they must be
    locked by the caller). Returns what was allocated. Two queries whatever the count:
    one insert of the allocations, one update of the installments."""
    allocations: list[Allocation] = []
    touched: list[Installment] = []
    left = available
    for inst in installments:
        if left <= 0:
            break
        share = min(inst.amount - inst.paid_amount, left)
        if share <= 0:
            continue
        allocations.append(
            Allocation(
                installment=inst, payment=payment, credit_note=credit_note, amount=share, date=date
            )
        )
        inst.paid_amount += share
        touched.append(inst)
        left -= share
    Allocation.objects.bulk_create(allocations)
    Installment.objects.bulk_update(touched, ["paid_amount"])
    source = payment or credit_note
    if touched and source is not None:
        figures.changed(
            customers=[source.customer_id], invoices={inst.invoice_id for inst in touched}
        )
    emit_invoices_paid({inst.invoice_id for inst in touched})
    return available - left


def emit_invoices_paid(invoice_ids: set[int]) -> None:
    """Tell the webhooks of each of ``invoice_ids`` that nothing is left to pay on now
    (one query for them all, none when there are none)."""
    if not invoice_ids:
        return
    unpaid = Installment.objects.filter(invoice=OuterRef("pk"), paid_amount__lt=F("amount"))
    paid = (
        Invoice.objects.filter(pk__in=invoice_ids, kind=Invoice.Kind.INVOICE)
        .exclude(Exists(unpaid))
        .values("pk", "number", "customer_id", "amount")
    )
    for row in paid:
        webhooks.emit(
            "invoice.paid",
            {
                "invoice": row["pk"],
                "number": row["number"],
                "customer": row["customer_id"],
                "amount": row["amount"],
            },
        )


def _open_installments_for_update(customer: Customer, invoice: Invoice | None = None):
    """The open installments of a customer (or of one invoice), oldest due first,
    locked for the rest of the transaction."""
    qs = Installment.objects.open().filter(invoice__customer=customer)
    if invoice is not None:
        qs = qs.filter(invoice=invoice)
    return qs.select_for_update(of=("self",)).order_by(
        "due_date", "invoice__issue_date", "invoice__number", "sequence"
    )


@figures.batched
def payment_record(
    *,
    customer: Customer,
    date: datetime.date,
    amount: Decimal,
    method: str = Payment.Method.TRANSFER,
    reference: str = "",
    invoice: Invoice | None = None,
    installments: Sequence[Installment] | None = None,
    import_key: str | None = None,
    created_by: User | None = None,
) -> Payment:
    """Record a payment and allocate it: to the chosen installments, else to the named
    invoice's installments, else oldest first over all the customer's open installments.
    Whatever is left (an overpayment) stays as unallocated credit. ``created_by``: the
    person who entered it (None for an import or the command line)."""
    if amount <= 0:
        raise ValidationError(_("A payment amount must be positive."))
    bounds.refuse(bounds.amount_refusals(amount))
    bounds.refuse(
        bounds.not_future_refusals(date, what=_("A payment cannot be dated in the future."))
    )
    if invoice is not None and invoice.customer_id != customer.pk:
        raise ValidationError(_("That invoice belongs to another customer."))
    payment = Payment.objects.create(
        customer=customer,
        date=date,
        amount=amount,
        method=method,
        reference=reference,
        import_key=import_key,
        created_by=created_by,
    )
    figures.changed(customers=[customer.pk])
    payment_allocate(payment=payment, invoice=invoice, installments=installments)
    webhooks.emit(
        "payment.received",
        {
            "payment": payment.pk,
            "customer": customer.pk,
            "date": payment.date,
            "amount": payment.amount,
            "allocated_amount": payment.allocated_amount,
            "method": payment.method,
            "reference": payment.reference,
        },
    )
    return payment


@figures.batched
def payment_allocate(
    *,
    payment: Payment,
    invoice: Invoice | None = None,
    installments: Sequence[Installment] | None = None,
    on: datetime.date | None = None,
) -> Decimal:
    """Allocate the unallocated part of ``payment``; returns the amount allocated. The
    allocations carry the payment's date, or ``on`` (a re-allocation: dated the day it
    is made, so the earlier days still read the allocation it replaced)."""
    original = payment
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.returned_on is not None:
        raise ValidationError(_("This payment was returned by the bank: it pays nothing."))
    if installments is not None:
        ids = [i.pk for i in installments]
        locked = {
            i.pk: i
            for i in Installment.objects.open()
            .filter(pk__in=ids, invoice__customer_id=payment.customer_id)
            .select_for_update(of=("self",))
        }
        targets = [locked[i] for i in ids if i in locked]
    else:
        targets = list(_open_installments_for_update(payment.customer, invoice))
    allocated = _allocate(
        installments=targets,
        available=payment.amount - payment.allocated_amount,
        date=on or payment.date,
        payment=payment,
    )
    if allocated:
        Payment.objects.filter(pk=payment.pk).update(
            allocated_amount=F("allocated_amount") + allocated
        )
        payment.allocated_amount += allocated
    original.allocated_amount = payment.allocated_amount
    return allocated


@figures.batched
def credit_note_create(
    *,
    customer: Customer,
    number: str,
    issue_date: datetime.date,
    amount: Decimal,
    credited_invoice: Invoice | None = None,
    currency: str = LEDGER_CURRENCY,
    created_by: User | None = None,
) -> Invoice:
    """Issue a credit note ("avoir") and apply it to the credited invoice's open
    installments (latest due first, as a credit note usually reduces the end of a plan);
    without an invoice, or beyond it, it stays as unallocated credit."""
    if amount <= 0:
        raise ValidationError(_("A credit note amount must be positive."))
    bounds.refuse(bounds.amount_refusals(amount))
    bounds.refuse(
        bounds.not_future_refusals(
            issue_date, what=_("A credit note cannot be dated in the future.")
        )
    )
    if credited_invoice is not None and credited_invoice.customer_id != customer.pk:
        raise ValidationError(_("That invoice belongs to another customer."))
    note = Invoice(
        customer=customer,
        number=number,
        kind=Invoice.Kind.CREDIT_NOTE,
        issue_date=issue_date,
        due_date=issue_date,
        amount=amount,
        currency=currency,
        credited_invoice=credited_invoice,
        created_by=created_by,
    )
    note.full_clean(validate_constraints=False)
    note.save()
    figures.changed(customers=[customer.pk], invoices=[note.pk])
    if credited_invoice is not None:
        targets = list(
            _open_installments_for_update(customer, credited_invoice).order_by(
                "-due_date", "-sequence"
            )
        )
        _allocate(installments=targets, available=amount, date=issue_date, credit_note=note)
    return note


@figures.batched
def allocations_release(*, allocations: QuerySet[Allocation], on: datetime.date) -> None:
    """Release the live ones of ``allocations`` with reversals dated ``on`` (what an
    accounting export no longer letters together): the installments are open again, the
    payments' money unallocated credit."""
    _release(allocations, on=on)


def _release(allocations: QuerySet[Allocation], *, on: datetime.date) -> None:
    """Release the live ``allocations``: add the reversal of each, dated ``on``, and give
    their amounts back to installments and payments. Set-based: one read, one insert,
    one update per touched row kind."""
    live = list(
        allocations.filter(reverses__isnull=True, reversal__isnull=True).select_for_update(
            of=("self",)
        )
    )
    if not live:
        return
    Allocation.objects.bulk_create(
        Allocation(
            installment_id=a.installment_id,
            payment_id=a.payment_id,
            credit_note_id=a.credit_note_id,
            amount=-a.amount,
            date=on,
            reverses=a,
        )
        for a in live
    )
    pay_updates: dict[int, Decimal] = defaultdict(lambda: ZERO)
    inst_updates: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for a in live:
        inst_updates[a.installment_id] += a.amount
        if a.payment_id is not None:
            pay_updates[a.payment_id] += a.amount
    payments = list(Payment.objects.select_for_update().filter(pk__in=pay_updates))
    for p in payments:
        p.allocated_amount -= pay_updates[p.pk]
    Payment.objects.bulk_update(payments, ["allocated_amount"])
    insts = list(Installment.objects.select_for_update().filter(pk__in=inst_updates))
    for i in insts:
        i.paid_amount -= inst_updates[i.pk]
    Installment.objects.bulk_update(insts, ["paid_amount"])
    invoice_ids = {i.invoice_id for i in insts}
    figures.changed(
        customers=Invoice.objects.filter(pk__in=invoice_ids).values_list("customer_id", flat=True),
        invoices=invoice_ids,
    )


# --- corrections by finance staff ------------------------------------------------------
# Each records its reason on the customer's timeline (customers.services.correction_log).


@figures.batched
def payment_return(*, payment: Payment, on: datetime.date, reason: str) -> Payment:
    """A payment the bank sent back (a returned SEPA direct debit): its allocations are
    released (reversals dated ``on``, so the history keeps what it had paid), the
    installments they paid are open again and, from ``on``, the payment counts for
    nothing. The installments become remindable even for a customer paying by direct
    debit (``InstallmentQuerySet.in_reminder_scope``). The reason goes on the customer's
    timeline."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.returned_on is not None:
        raise ValidationError(_("This payment was already returned by the bank."))
    if on < payment.date:
        raise ValidationError(_("A payment cannot be returned before it was received."))
    _release(Allocation.objects.filter(payment=payment), on=on)
    payment.refresh_from_db()
    payment.returned_on = on
    payment.save(update_fields=["returned_on"])
    figures.changed(customers=[payment.customer_id])
    # Due today as a next action, so it is on the finance worklist ("Next actions due")
    # until someone calls the customer or notes what was agreed.
    Activity.objects.create(
        customer=payment.customer,
        kind=Activity.Kind.PAYMENT,
        next_action_date=timezone.localdate(),
        summary=(
            _("Payment of %(amount)s of %(date)s returned by the bank: %(reason)s")
            % {
                "amount": format_money_active(payment.amount),
                "date": formats.date_format(payment.date, "SHORT_DATE_FORMAT"),
                "reason": reason,
            }
        )[:255],
        body=reason,
    )
    return payment
