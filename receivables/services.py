"""Writes to the ledger: invoices with their plans, payments, credit notes, allocations.

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
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from core.money import ZERO, format_money_active
from customers.models import Customer
from customers.services import correction_log
from receivables.models import LEDGER_CURRENCY, Allocation, Installment, Invoice, Payment
from receivables.plans import PlanKind, build_plan

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def invoice_create(
    *,
    customer: Customer,
    number: str,
    issue_date: datetime.date,
    due_date: datetime.date,
    amount: Decimal,
    currency: str = LEDGER_CURRENCY,
    po_number: str = "",
    plan: str = PlanKind.SINGLE,
    parts: int | None = None,
    custom: Sequence[tuple[datetime.date, Decimal]] | None = None,
) -> Invoice:
    """Create an invoice and its installment plan (first part due on ``due_date``).
    Another currency than the ledger's is refused (``Invoice.currency``'s validator)."""
    if due_date < issue_date:
        raise ValidationError(_("The due date cannot be before the issue date."))
    invoice = Invoice(
        customer=customer,
        number=number,
        issue_date=issue_date,
        due_date=due_date,
        amount=amount,
        currency=currency,
        po_number=po_number,
    )
    invoice.full_clean(validate_unique=True, validate_constraints=False)
    plan_parts = build_plan(total=amount, first_due=due_date, kind=plan, parts=parts, custom=custom)
    if plan_parts[0].due_date < issue_date:
        raise ValidationError(_("An installment cannot fall due before the issue date."))
    invoice.save()
    Installment.objects.bulk_create(
        Installment(invoice=invoice, sequence=i, due_date=p.due_date, amount=p.amount)
        for i, p in enumerate(plan_parts, start=1)
    )
    return invoice


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
    return available - left


def _open_installments_for_update(customer: Customer, invoice: Invoice | None = None):
    """The open installments of a customer (or of one invoice), oldest due first,
    locked for the rest of the transaction."""
    qs = Installment.objects.open().filter(invoice__customer=customer)
    if invoice is not None:
        qs = qs.filter(invoice=invoice)
    return qs.select_for_update(of=("self",)).order_by(
        "due_date", "invoice__issue_date", "invoice__number", "sequence"
    )


@transaction.atomic
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
) -> Payment:
    """Record a payment and allocate it: to the chosen installments, else to the named
    invoice's installments, else oldest first over all the customer's open installments.
    Whatever is left (an overpayment) stays as unallocated credit."""
    if amount <= 0:
        raise ValidationError(_("A payment amount must be positive."))
    if date > timezone.localdate():
        raise ValidationError(_("A payment cannot be dated in the future."))
    if invoice is not None and invoice.customer_id != customer.pk:
        raise ValidationError(_("That invoice belongs to another customer."))
    payment = Payment.objects.create(
        customer=customer,
        date=date,
        amount=amount,
        method=method,
        reference=reference,
        import_key=import_key,
    )
    payment_allocate(payment=payment, invoice=invoice, installments=installments)
    return payment


@transaction.atomic
def payment_allocate(
    *,
    payment: Payment,
    invoice: Invoice | None = None,
    installments: Sequence[Installment] | None = None,
) -> Decimal:
    """Allocate the unallocated part of ``payment``; returns the amount allocated."""
    original = payment
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
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
        date=payment.date,
        payment=payment,
    )
    if allocated:
        Payment.objects.filter(pk=payment.pk).update(
            allocated_amount=F("allocated_amount") + allocated
        )
        payment.allocated_amount += allocated
    original.allocated_amount = payment.allocated_amount
    return allocated


@transaction.atomic
def credit_note_create(
    *,
    customer: Customer,
    number: str,
    issue_date: datetime.date,
    amount: Decimal,
    credited_invoice: Invoice | None = None,
    currency: str = LEDGER_CURRENCY,
) -> Invoice:
    """Issue a credit note ("avoir") and apply it to the credited invoice's open
    installments (latest due first, as a credit note usually reduces the end of a plan);
    without an invoice, or beyond it, it stays as unallocated credit."""
    if amount <= 0:
        raise ValidationError(_("A credit note amount must be positive."))
    if issue_date > timezone.localdate():
        raise ValidationError(_("A credit note cannot be dated in the future."))
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
    )
    note.full_clean(validate_constraints=False)
    note.save()
    if credited_invoice is not None:
        targets = list(
            _open_installments_for_update(customer, credited_invoice).order_by(
                "-due_date", "-sequence"
            )
        )
        _allocate(installments=targets, available=amount, date=issue_date, credit_note=note)
    return note


@transaction.atomic
def invoice_update(
    *,
    invoice: Invoice,
    user: User | None,
    reason: str,
    po_number: str | None = None,
    issue_date: datetime.date | None = None,
    due_date: datetime.date | None = None,
    amount: Decimal | None = None,
) -> Invoice:
    """Correct an invoice's details, with the reason on the timeline (None: unchanged).

    The PO number may always be corrected. The issue date may move as long as it stays
    on or before every due date and every allocation. The due date and the amount may
    change only on an invoice of one installment (the installment follows): the due date
    while nothing is paid, the amount while nothing was ever allocated to it; otherwise
    the correction is a credit note or a cancellation. A cancelled invoice is left as
    it is."""
    if user is not None:
        access.require(user, access.Action.EDIT_LEDGER)
    reason = _cancellation_reason(reason)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.is_cancelled:
        raise ValidationError(_("A cancelled invoice cannot be corrected."))
    installments = list(invoice.installments.select_for_update().order_by("sequence"))
    allocations = Allocation.objects.filter(installment__invoice=invoice)
    changed: list[str] = []
    errors: dict[str, str] = {}
    if po_number is not None and po_number.strip() != invoice.po_number:
        invoice.po_number = po_number.strip()
        changed.append(_("PO number"))
    if amount is not None and amount != invoice.amount:
        if amount <= 0:
            errors["amount"] = _("The amount must be positive.")
        elif len(installments) != 1:
            errors["amount"] = _(
                "The amount of an invoice paid in several installments cannot be changed: "
                "cancel it and issue a new one."
            )
        elif allocations.exists():
            errors["amount"] = _(
                "The amount of an invoice already paid, even in part, cannot be changed: "
                "issue a credit note or cancel it."
            )
        else:
            invoice.amount = installments[0].amount = amount
            changed.append(_("amount"))
    if due_date is not None and due_date != invoice.due_date and not invoice.is_credit_note:
        if len(installments) != 1:
            errors["due_date"] = _(
                "The due date of an invoice paid in several installments cannot be changed."
            )
        elif installments[0].paid_amount:
            errors["due_date"] = _("The due date of an invoice already paid cannot be changed.")
        else:
            invoice.due_date = installments[0].due_date = due_date
            changed.append(_("due date"))
    if issue_date is not None and issue_date != invoice.issue_date:
        first_allocation = allocations.order_by("date").values_list("date", flat=True).first()
        first_due = min((i.due_date for i in installments), default=invoice.due_date)
        if issue_date > min(invoice.due_date, first_due):
            errors["issue_date"] = _("The issue date cannot be after a due date.")
        elif first_allocation is not None and issue_date > first_allocation:
            errors["issue_date"] = _(
                "The issue date cannot be after a payment already allocated to the invoice."
            )
        else:
            invoice.issue_date = issue_date
            if invoice.is_credit_note:
                invoice.due_date = issue_date
            changed.append(_("issue date"))
    if not errors and invoice.due_date < invoice.issue_date:
        errors["due_date"] = _("The due date cannot be before the issue date.")
    if errors:
        raise ValidationError(errors)
    if not changed:
        return invoice
    invoice.full_clean(validate_unique=False, validate_constraints=False)
    invoice.save()
    if installments:
        Installment.objects.bulk_update(installments, ["amount", "due_date"])
    correction_log(
        customer=invoice.customer,
        user=user,
        summary=_("Invoice %(number)s corrected: %(fields)s")
        % {"number": invoice.number, "fields": ", ".join(changed)},
        reason=reason,
    )
    return invoice


def _cancellation_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for this correction.")})
    return reason


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, reason: str, user: User | None = None) -> Invoice:
    """Cancel an invoice or a credit note, with the reason, on the customer's timeline.
    From the day of the cancellation it no longer counts, and what had been allocated to
    it (or, for a credit note, from it) is released: the allocations stay, each with its
    reversal dated today, so the money becomes unallocated credit again while the aged
    balance of any earlier day still shows the document as it was. The reminders in
    progress are the reminders app's business (reminders.services.invoice_cancel)."""
    if user is not None:
        access.require(user, access.Action.EDIT_LEDGER)
    reason = _cancellation_reason(reason)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.is_cancelled:
        raise ValidationError(_("This invoice is already cancelled."))
    today = timezone.localdate()
    if invoice.is_credit_note:
        _release(Allocation.objects.filter(credit_note=invoice), on=today)
    _release(Allocation.objects.filter(installment__invoice=invoice), on=today)
    invoice.cancelled_at = timezone.now()
    invoice.save(update_fields=["cancelled_at"])
    summary = (
        _("Credit note %(number)s cancelled (%(amount)s)")
        if invoice.is_credit_note
        else _("Invoice %(number)s cancelled (%(amount)s)")
    )
    correction_log(
        customer=invoice.customer,
        user=user,
        summary=summary % {"number": invoice.number, "amount": format_money_active(invoice.amount)},
        reason=reason,
    )
    return invoice


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
