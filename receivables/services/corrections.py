"""Corrections of the ledger: editing or cancelling an invoice, issuing a credit note,
re-allocating a payment, applying credit, writing off a small balance.

Nothing is deleted: a correction is dated, reasoned, audited on the customer's timeline
and reverses allocations with dated releases.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import F, Q, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core import access
from core.money import ZERO, format_money_active
from customers.models import Customer
from customers.services import correction_log
from receivables import figures
from receivables.models import (
    Allocation,
    CompanyProfile,
    Installment,
    Invoice,
    Payment,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


from receivables.services.ledger import (
    _allocate,
    _open_installments_for_update,
    _release,
    credit_note_create,
    payment_allocate,
)


@figures.batched
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
    # What the document settled or was settled by: a credit note's own allocations.
    allocations = Allocation.objects.filter(
        Q(credit_note=invoice) if invoice.is_credit_note else Q(installment__invoice=invoice)
    )
    changed: list[str] = []
    errors: dict[str, str] = {}
    if po_number is not None and po_number.strip() != invoice.po_number:
        invoice.po_number = po_number.strip()
        changed.append(_("PO number"))
    if amount is not None and amount != invoice.amount:
        if amount <= 0:
            errors["amount"] = _("The amount must be positive.")
        elif invoice.is_credit_note:
            if allocations.exists():
                errors["amount"] = _(
                    "The amount of a credit note already allocated cannot be changed: "
                    "cancel it and issue a new one."
                )
            else:
                invoice.amount = amount
                changed.append(_("amount"))
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
        if invoice.is_credit_note:
            if issue_date > timezone.localdate():
                errors["issue_date"] = _("A credit note cannot be dated in the future.")
            elif first_allocation is not None:
                # Its allocations carry its date: they would say another history.
                errors["issue_date"] = _(
                    "The date of a credit note already allocated cannot be changed: "
                    "cancel it and issue a new one."
                )
            else:
                invoice.issue_date = invoice.due_date = issue_date
                changed.append(_("issue date"))
        elif issue_date > min(invoice.due_date, first_due):
            errors["issue_date"] = _("The issue date cannot be after a due date.")
        elif first_allocation is not None and issue_date > first_allocation:
            errors["issue_date"] = _(
                "The issue date cannot be after a payment already allocated to the invoice."
            )
        else:
            invoice.issue_date = issue_date
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
    figures.changed(customers=[invoice.customer_id], invoices=[invoice.pk])
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


@figures.batched
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
    figures.changed(customers=[invoice.customer_id], invoices=[invoice.pk])
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


@figures.batched
def credit_note_issue(
    *,
    customer: Customer,
    user: User,
    reason: str,
    number: str,
    amount: Decimal,
    credited_invoice: Invoice | None = None,
    issue_date: datetime.date | None = None,
) -> Invoice:
    """Issue a credit note against an invoice (allocated to it) or against the account
    (unallocated credit), dated today unless said."""
    access.require(user, access.Action.EDIT_LEDGER)
    reason = _cancellation_reason(reason)
    if credited_invoice is not None and (
        credited_invoice.is_cancelled or credited_invoice.is_credit_note
    ):
        raise ValidationError(
            {"credited_invoice": _("A credit note credits an invoice that counts.")}
        )
    if Invoice.objects.filter(number=number.strip()).exists():
        raise ValidationError({"number": _("An invoice with this number already exists.")})
    note = credit_note_create(
        customer=customer,
        number=number.strip(),
        issue_date=issue_date or timezone.localdate(),
        amount=amount,
        credited_invoice=credited_invoice,
        created_by=user,
    )
    summary = (
        _("Credit note %(number)s of %(amount)s on %(invoice)s")
        if credited_invoice is not None
        else _("Credit note %(number)s of %(amount)s on the account")
    )
    correction_log(
        customer=customer,
        user=user,
        summary=summary
        % {
            "number": note.number,
            "amount": format_money_active(amount),
            "invoice": credited_invoice.number if credited_invoice else "",
        },
        reason=reason,
    )
    return note


@figures.batched
def payment_reallocate(
    *, payment: Payment, user: User, reason: str, invoice: Invoice | None = None
) -> Payment:
    """Take back what ``payment`` had allocated (reversals dated today) and allocate it
    again: to ``invoice``, else oldest due first; the new allocations are dated today,
    so the aged balance of earlier days is unchanged."""
    access.require(user, access.Action.EDIT_LEDGER)
    reason = _cancellation_reason(reason)
    if invoice is not None and (
        invoice.customer_id != payment.customer_id or invoice.is_cancelled or invoice.is_credit_note
    ):
        raise ValidationError({"invoice": _("Choose an open invoice of this customer.")})
    today = timezone.localdate()
    _release(Allocation.objects.filter(payment=payment), on=today)
    payment.refresh_from_db()
    payment_allocate(payment=payment, invoice=invoice, on=today)
    correction_log(
        customer=payment.customer,
        user=user,
        summary=_("Payment of %(amount)s of %(date)s re-allocated: %(allocated)s allocated")
        % {
            "amount": format_money_active(payment.amount),
            "date": formats.date_format(payment.date, "SHORT_DATE_FORMAT"),
            "allocated": format_money_active(payment.allocated_amount),
        },
        reason=reason,
    )
    return payment


def _credit_note_left(note: Invoice) -> Decimal:
    used = Allocation.objects.filter(credit_note=note).aggregate(s=Sum("amount"))["s"]
    return note.amount - (used or ZERO)


@figures.batched
def credit_note_allocate(
    *, note: Invoice, installments: Sequence[Installment], on: datetime.date | None = None
) -> Decimal:
    """Allocate what is left of credit note ``note`` to ``installments`` (of its customer,
    in the order given, open ones only); the allocations are dated ``on`` or the note's
    issue date. Returns the amount allocated."""
    note = Invoice.objects.select_for_update().get(pk=note.pk)
    ids = [i.pk for i in installments]
    locked = {
        i.pk: i
        for i in Installment.objects.open()
        .filter(pk__in=ids, invoice__customer_id=note.customer_id)
        .select_for_update(of=("self",))
    }
    return _allocate(
        installments=[locked[i] for i in ids if i in locked],
        available=_credit_note_left(note),
        date=on or note.issue_date,
        credit_note=note,
    )


@figures.batched
def credit_apply(*, customer: Customer, user: User, reason: str) -> Decimal:
    """Apply the customer's unallocated credit (payments, then credit notes, oldest first)
    to its open installments, oldest due first; returns the amount applied. Nothing to
    apply is refused (a clear message, nothing written)."""
    access.require(user, access.Action.EDIT_LEDGER)
    reason = _cancellation_reason(reason)
    applied = ZERO
    for payment in Payment.objects.filter(
        customer=customer, allocated_amount__lt=F("amount"), returned_on__isnull=True
    ).order_by("date", "pk"):
        applied += payment_allocate(payment=payment)
    notes = Invoice.objects.active().credit_notes().filter(customer=customer)
    for note in notes.select_for_update().order_by("issue_date", "pk"):
        left = _credit_note_left(note)
        if left > 0:
            applied += _allocate(
                installments=list(_open_installments_for_update(customer)),
                available=left,
                date=note.issue_date,
                credit_note=note,
            )
    if not applied:
        raise ValidationError(_("There is no unallocated credit to apply to an open installment."))
    correction_log(
        customer=customer,
        user=user,
        summary=_("Unallocated credit applied: %(amount)s")
        % {"amount": format_money_active(applied)},
        reason=reason,
    )
    return applied


@figures.batched
def balance_write_off(*, customer: Customer, user: User, reason: str) -> Invoice:
    """Write off what is left to pay on the customer's open installments when it is no
    more than the company's write-off threshold: a credit note marked as a write-off,
    allocated to them, so the history keeps what was owed and how it was settled."""
    access.require(user, access.Action.EDIT_LEDGER)
    reason = _cancellation_reason(reason)
    threshold = CompanyProfile.get().write_off_threshold
    installments = list(_open_installments_for_update(customer))
    left = sum((i.amount - i.paid_amount for i in installments), ZERO)
    if not left:
        raise ValidationError(_("Nothing is left to pay: there is nothing to write off."))
    if left > threshold:
        raise ValidationError(
            _("%(left)s is left to pay, more than the write-off threshold of %(threshold)s.")
            % {"left": format_money_active(left), "threshold": format_money_active(threshold)}
        )
    today = timezone.localdate()
    count = Invoice.objects.filter(number__startswith=f"WO-{today:%Y%m%d}-").count()
    note = Invoice(
        customer=customer,
        number=f"WO-{today:%Y%m%d}-{customer.pk}-{count + 1}",
        kind=Invoice.Kind.CREDIT_NOTE,
        issue_date=today,
        due_date=today,
        amount=left,
        is_write_off=True,
        created_by=user,
    )
    note.save()
    figures.changed(customers=[customer.pk], invoices=[note.pk])
    _allocate(installments=installments, available=left, date=today, credit_note=note)
    correction_log(
        customer=customer,
        user=user,
        summary=_("Balance of %(amount)s written off (%(number)s)")
        % {"amount": format_money_active(left), "number": note.number},
        reason=reason,
    )
    return note


# --- bank returns -----------------------------------------------------------------------
