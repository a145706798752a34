"""The bank matching queue: what finance staff do with an incoming credit the import could
not allocate on its own (``BankTransaction`` waiting, status unmatched).

Each service locks the bank line first (``SELECT … FOR UPDATE``) and checks, under that
lock, that it still waits: two people confirming the same line at once get one payment,
and the second a message. A payment made here is a bank transfer dated the bank line's
day with its reference, recorded and allocated by the ledger's own services, so balances,
the aged balance and tomorrow's reminders see it at once. Every refusal is a translated
``ValidationError`` and writes nothing; every action is written on the customer's
timeline with who did it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core import access
from core.money import ZERO, format_money_active
from customers.models import Activity, Customer
from receivables import figures
from receivables.models import LEDGER_CURRENCY, BankTransaction, Installment, Invoice, Payment
from receivables.services.ledger import _allocate, payment_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _waiting_for_update(transaction: BankTransaction) -> BankTransaction:
    """The bank line, locked, if it is an incoming credit still waiting in the queue."""
    line = BankTransaction.objects.select_for_update().get(pk=transaction.pk)
    if line.direction != BankTransaction.Direction.CREDIT:
        raise ValidationError(_("Only an incoming credit can be handled from the matching queue."))
    if line.status != BankTransaction.Status.UNMATCHED:
        raise ValidationError(
            _("This bank line was already handled (%(status)s): nothing was changed.")
            % {"status": line.get_status_display()}
        )
    return line


def _payable_for_update(transaction: BankTransaction) -> BankTransaction:
    """The waiting bank line, locked, if it may become a payment: in the ledger's currency."""
    line = _waiting_for_update(transaction)
    if line.currency != LEDGER_CURRENCY:
        raise ValidationError(
            _(
                "This credit is in %(currency)s and the ledger is kept in %(ledger)s only: "
                "it never moves a balance. Set it aside."
            )
            % {"currency": line.currency, "ledger": LEDGER_CURRENCY}
        )
    return line


def _invoices_for_update(invoices: list[Invoice]) -> dict[int, tuple[Invoice, list[Installment]]]:
    """The invoices (locked, in a fixed order so that two people never wait on each
    other) with their open installments (locked, oldest due first); a cancelled invoice,
    a credit note or an invoice with nothing left to pay is refused."""
    locked = {
        i.pk: i
        for i in Invoice.objects.select_for_update()
        .select_related("customer")
        .filter(pk__in=[i.pk for i in invoices])
        .order_by("pk")
    }
    open_of: dict[int, list[Installment]] = defaultdict(list)
    for inst in (
        Installment.objects.open()
        .filter(invoice_id__in=locked)
        .select_for_update(of=("self",))
        .order_by("due_date", "sequence", "pk")
    ):
        open_of[inst.invoice_id].append(inst)
    for invoice in locked.values():
        if invoice.is_credit_note:
            raise ValidationError(
                _("%(number)s is a credit note, not an invoice to pay.")
                % {"number": invoice.number}
            )
        if invoice.is_cancelled:
            raise ValidationError(
                _("Invoice %(number)s is cancelled: it cannot be paid.")
                % {"number": invoice.number}
            )
        if not open_of[invoice.pk]:
            raise ValidationError(
                _("Invoice %(number)s is already paid: nothing is open on it.")
                % {"number": invoice.number}
            )
    return {pk: (invoice, open_of[pk]) for pk, invoice in locked.items()}


def _open_amount(installments: list[Installment]) -> Decimal:
    return sum((i.amount - i.paid_amount for i in installments), ZERO)


def _payment(
    line: BankTransaction, customer: Customer, invoice: Invoice | None, *, user: User
) -> Payment:
    """The bank transfer a credit becomes: the line's day, amount and reference; allocated
    to ``invoice`` (never beyond what is open), else left unallocated for now; entered by
    ``user``, who worked the queue."""
    return payment_record(
        customer=customer,
        invoice=invoice,
        installments=None if invoice is not None else [],
        date=line.date,
        amount=line.amount,
        method=Payment.Method.TRANSFER,
        reference=(line.bank_reference or line.end_to_end_id)[:100],
        created_by=user,
    )


def _handled(
    line: BankTransaction,
    *,
    user: User,
    status: str,
    payment: Payment | None = None,
    customer: Customer | None = None,
    set_aside_reason: str = "",
) -> None:
    line.status = status
    line.payment = payment
    if customer is not None:
        # The counterparty's IBAN is known from now on: the queue proposes this
        # customer's invoices to the next credit from that account.
        line.customer = customer
    line.set_aside_reason = set_aside_reason
    line.handled_by = user
    line.handled_at = timezone.now()
    line.save(
        update_fields=[
            "status",
            "payment",
            "customer",
            "set_aside_reason",
            "handled_by",
            "handled_at",
        ]
    )


def _describe(line: BankTransaction) -> dict[str, str]:
    return {
        "amount": format_money_active(line.amount),
        "date": formats.date_format(line.date, "SHORT_DATE_FORMAT"),
    }


def _log(*, customer: Customer, user: User, summary: str, line: BankTransaction) -> None:
    """The action on the customer's timeline, with who did it and what the bank said."""
    details = [line.counterparty_name, line.counterparty_iban, line.remittance]
    Activity.objects.create(
        customer=customer,
        kind=Activity.Kind.PAYMENT,
        author=user,
        summary=summary[:255],
        body=" · ".join(d for d in details if d),
    )


@figures.batched
def bank_transaction_confirm(
    *, transaction: BankTransaction, invoice: Invoice, user: User
) -> BankTransaction:
    """Confirm that an incoming credit pays ``invoice``: a bank transfer of the credit's
    amount for the invoice's customer, allocated to that invoice for no more than is open
    (the rest stays as unallocated credit on the customer), and the line matched."""
    access.require(user, access.Action.IMPORT)
    line = _payable_for_update(transaction)
    invoice, installments = _invoices_for_update([invoice])[invoice.pk]
    open_amount = _open_amount(installments)
    payment = _payment(line, invoice.customer, invoice, user=user)
    _handled(
        line,
        user=user,
        status=BankTransaction.Status.MATCHED,
        payment=payment,
        customer=invoice.customer,
    )
    summary = _("Bank transfer of %(amount)s of %(date)s matched to invoice %(number)s") % {
        **_describe(line),
        "number": invoice.number,
    }
    if line.amount > open_amount:
        summary += _(" (%(credit)s kept as credit)") % {
            "credit": format_money_active(line.amount - open_amount)
        }
    _log(customer=invoice.customer, user=user, summary=summary, line=line)
    return line


@figures.batched
def bank_transaction_split(
    *,
    transaction: BankTransaction,
    allocations: Mapping[Invoice, Decimal],
    user: User,
) -> BankTransaction:
    """One payment for an incoming credit, allocated across several invoices of one
    customer: each amount positive and at most what is open on its invoice, together at
    most the credit (what is left stays as unallocated credit on the customer)."""
    access.require(user, access.Action.IMPORT)
    if not allocations:
        raise ValidationError(_("Give at least one invoice and the amount it receives."))
    for invoice, amount in allocations.items():
        if amount <= 0:
            raise ValidationError(
                _("The amount for %(number)s must be positive.") % {"number": invoice.number}
            )
    line = _payable_for_update(transaction)
    locked = _invoices_for_update(list(allocations))
    customers = {invoice.customer_id for invoice, _installments in locked.values()}
    if len(customers) > 1:
        raise ValidationError(
            _("A split pays invoices of one customer only: these belong to several.")
        )
    total = sum(allocations.values(), ZERO)
    if total > line.amount:
        raise ValidationError(
            _("The amounts add up to %(total)s, more than the %(amount)s received.")
            % {"total": format_money_active(total), "amount": format_money_active(line.amount)}
        )
    for invoice, amount in allocations.items():
        open_amount = _open_amount(locked[invoice.pk][1])
        if amount > open_amount:
            raise ValidationError(
                _("%(amount)s is more than the %(open)s open on %(number)s.")
                % {
                    "amount": format_money_active(amount),
                    "open": format_money_active(open_amount),
                    "number": invoice.number,
                }
            )
    customer = next(iter(locked.values()))[0].customer
    payment = _payment(line, customer, None, user=user)
    allocated = ZERO
    for invoice, amount in allocations.items():
        allocated += _allocate(
            installments=locked[invoice.pk][1], available=amount, date=line.date, payment=payment
        )
    Payment.objects.filter(pk=payment.pk).update(allocated_amount=F("allocated_amount") + allocated)
    payment.allocated_amount += allocated
    _handled(
        line, user=user, status=BankTransaction.Status.MATCHED, payment=payment, customer=customer
    )
    summary = _("Bank transfer of %(amount)s of %(date)s split: %(parts)s") % {
        **_describe(line),
        "parts": ", ".join(
            f"{invoice.number} {format_money_active(amount)}"
            for invoice, amount in allocations.items()
        ),
    }
    _log(customer=customer, user=user, summary=summary, line=line)
    return line


@figures.batched
def bank_transaction_assign(
    *, transaction: BankTransaction, customer: Customer, user: User
) -> BankTransaction:
    """Give an incoming credit to ``customer`` as an unallocated payment (to be allocated
    later from the customer's page, or by the next invoice's matching). The line keeps
    the customer, so its IBAN is recognised from now on."""
    access.require(user, access.Action.IMPORT)
    line = _payable_for_update(transaction)
    payment = _payment(line, customer, None, user=user)
    _handled(
        line, user=user, status=BankTransaction.Status.MATCHED, payment=payment, customer=customer
    )
    _log(
        customer=customer,
        user=user,
        summary=_("Bank transfer of %(amount)s of %(date)s assigned to the account, unallocated")
        % _describe(line),
        line=line,
    )
    return line


@figures.batched
def bank_transaction_set_aside(
    *, transaction: BankTransaction, reason: str, user: User
) -> BankTransaction:
    """Take an incoming credit out of the queue without any payment (not a customer's
    payment, a refund, a credit in another currency…), with the reason; it can be put
    back (:func:`bank_transaction_set_aside_undo`)."""
    access.require(user, access.Action.IMPORT)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this line is set aside.")})
    line = _waiting_for_update(transaction)
    _handled(line, user=user, status=BankTransaction.Status.IGNORED, set_aside_reason=reason[:255])
    if line.customer_id is not None:
        _log(
            customer=line.customer,  # type: ignore[arg-type]  # not None: checked just above
            user=user,
            summary=_("Bank credit of %(amount)s of %(date)s set aside: %(reason)s")
            % {**_describe(line), "reason": reason},
            line=line,
        )
    return line


@figures.batched
def bank_transaction_set_aside_undo(*, transaction: BankTransaction, user: User) -> BankTransaction:
    """Put a credit set aside back in the matching queue."""
    access.require(user, access.Action.IMPORT)
    line = BankTransaction.objects.select_for_update().get(pk=transaction.pk)
    if (
        line.direction != BankTransaction.Direction.CREDIT
        or line.status != BankTransaction.Status.IGNORED
    ):
        raise ValidationError(_("This bank line was not set aside: nothing was changed."))
    line.status = BankTransaction.Status.UNMATCHED
    line.set_aside_reason = ""
    line.handled_by = None
    line.handled_at = None
    line.save(update_fields=["status", "set_aside_reason", "handled_by", "handled_at"])
    if line.customer_id is not None:
        _log(
            customer=line.customer,  # type: ignore[arg-type]  # not None: checked just above
            user=user,
            summary=_("Bank credit of %(amount)s of %(date)s back in the matching queue")
            % _describe(line),
            line=line,
        )
    return line
