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
from django.db.models import F, Q, QuerySet, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core import access
from core.confirm import raise_unless_confirmed
from core.money import ZERO, format_money_active
from customers.models import Activity, Customer
from customers.services import correction_log
from receivables import bounds
from receivables.models import (
    LEDGER_CURRENCY,
    Allocation,
    CompanyProfile,
    Installment,
    Invoice,
    Payment,
)
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
    confirmed: bool = False,
) -> Invoice:
    """Create an invoice and its installment plan (first part due on ``due_date``).
    Another currency than the ledger's is refused (``Invoice.currency``'s validator), and
    so is an amount or a date out of the ledger's bounds (receivables/bounds.py); an
    issue date more than a year ago, or no PO number for a customer who requires one,
    needs ``confirmed``."""
    if due_date < issue_date:
        raise ValidationError(_("The due date cannot be before the issue date."))
    refusals, warnings = bounds.invoice_checks(
        customer=customer,
        issue_date=issue_date,
        due_date=due_date,
        amount=amount,
        po_number=po_number,
    )
    bounds.refuse(refusals)
    raise_unless_confirmed(warnings, confirmed=confirmed)
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
    )
    payment_allocate(payment=payment, invoice=invoice, installments=installments)
    return payment


@transaction.atomic
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


# --- corrections by finance staff ------------------------------------------------------
# Each records its reason on the customer's timeline (customers.services.correction_log).


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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
    )
    note.save()
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


@transaction.atomic
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
    Activity.objects.create(
        customer=payment.customer,
        kind=Activity.Kind.PAYMENT,
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
