"""Writes to the ledger: invoices with their plans, one by one (the forms, the API) or in
batches (the imports), under the same rules.

Each service is atomic; the stored figures of what it touched are refreshed once, at its
end (receivables/figures.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.confirm import raise_unless_confirmed
from customers.models import Customer
from receivables import bounds, figures
from receivables.models import LEDGER_CURRENCY, Installment, Invoice
from receivables.plans import Part, PlanKind, build_plan
from receivables.references import compact_reference

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class NewInvoice:
    """An invoice to create, with its installment plan (first part due on ``due_date``):
    what :func:`invoice_create` takes, as one value for :func:`invoices_create_many`."""

    customer: Customer
    number: str
    issue_date: datetime.date
    due_date: datetime.date
    amount: Decimal
    currency: str = LEDGER_CURRENCY
    po_number: str = ""
    payment_reference: str = ""
    plan: str = PlanKind.SINGLE
    parts: int | None = None
    custom: Sequence[tuple[datetime.date, Decimal]] | None = None
    confirmed: bool = False
    created_by: User | None = None


class EntryRefused(Exception):
    """Entry ``index`` of a batch was refused: ``error`` is the ``ValidationError`` of a
    rule, or the ``DatabaseError`` of a constraint only the database knows. Nothing of
    the batch stays written once the caller's transaction rolls back."""

    def __init__(self, index: int, error: ValidationError | DatabaseError) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


# The fields a batch's caller has established for all its entries at once: the customer
# exists (its ForeignKey check would read it) and the number is new (``validate_unique``
# would look for it). The database's constraints still have the last word on both.
_ESTABLISHED_BY_CALLER = ("customer",)


def _checked(
    entry: NewInvoice, *, today: datetime.date | None = None, one: bool = True
) -> tuple[Invoice, list[Part]]:
    """The rules of a new invoice, for :func:`invoice_create` and :func:`invoices_create_many`
    alike: the unsaved invoice and its plan, or a ``ValidationError``. Another currency
    than the ledger's is refused (``Invoice.currency``'s validator), and so is an amount
    or a date out of the ledger's bounds (receivables/bounds.py); an issue date more than
    a year ago, or no PO number for a customer who requires one, needs ``confirmed``.
    ``one``: a single invoice, whose number's uniqueness and customer's existence are
    checked here (a batch's caller has established them for the whole batch)."""
    if entry.due_date < entry.issue_date:
        raise ValidationError(_("The due date cannot be before the issue date."))
    refusals, warnings = bounds.invoice_checks(
        customer=entry.customer,
        issue_date=entry.issue_date,
        due_date=entry.due_date,
        amount=entry.amount,
        po_number=entry.po_number,
        today=today,
    )
    if entry.plan == PlanKind.CUSTOM and entry.custom:
        refusals += bounds.plan_refusals(entry.issue_date, [day for day, _a in entry.custom])
    bounds.refuse(refusals)
    raise_unless_confirmed(warnings, confirmed=entry.confirmed)
    invoice = Invoice(
        customer=entry.customer,
        number=entry.number,
        issue_date=entry.issue_date,
        due_date=entry.due_date,
        amount=entry.amount,
        currency=entry.currency,
        po_number=entry.po_number,
        payment_reference=compact_reference(entry.payment_reference),
        created_by=entry.created_by,
    )
    if one:
        invoice.full_clean(validate_unique=True, validate_constraints=False)
    else:
        invoice.full_clean(
            exclude=_ESTABLISHED_BY_CALLER, validate_unique=False, validate_constraints=False
        )
    plan_parts = build_plan(
        total=entry.amount,
        first_due=entry.due_date,
        kind=entry.plan,
        parts=entry.parts,
        custom=entry.custom,
    )
    if plan_parts[0].due_date < entry.issue_date:
        raise ValidationError(_("An installment cannot fall due before the issue date."))
    return invoice, plan_parts


def _installments(invoice: Invoice, plan_parts: list[Part]) -> list[Installment]:
    return [
        Installment(invoice=invoice, sequence=i, due_date=p.due_date, amount=p.amount)
        for i, p in enumerate(plan_parts, start=1)
    ]


@figures.batched
def invoice_create(
    *,
    customer: Customer,
    number: str,
    issue_date: datetime.date,
    due_date: datetime.date,
    amount: Decimal,
    currency: str = LEDGER_CURRENCY,
    po_number: str = "",
    payment_reference: str = "",
    plan: str = PlanKind.SINGLE,
    parts: int | None = None,
    custom: Sequence[tuple[datetime.date, Decimal]] | None = None,
    confirmed: bool = False,
    created_by: User | None = None,
) -> Invoice:
    """Create an invoice and its installment plan (first part due on ``due_date``), under
    the rules of :func:`_checked`. ``created_by``: the person who entered it (None for an
    import or the command line)."""
    invoice, plan_parts = _checked(
        NewInvoice(
            customer=customer, number=number, issue_date=issue_date, due_date=due_date,
            amount=amount, currency=currency, po_number=po_number,
            payment_reference=payment_reference, plan=plan, parts=parts, custom=custom,
            confirmed=confirmed, created_by=created_by,
        )
    )  # fmt: skip
    invoice.save()
    Installment.objects.bulk_create(_installments(invoice, plan_parts))
    figures.changed(customers=[customer.pk], invoices=[invoice.pk])
    return invoice


# Entries checked and written together: a few inserts per batch, never one per invoice.
CREATE_BATCH = 2000


@figures.batched
def invoices_create_many(
    entries: Sequence[NewInvoice],
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int | None = None,
) -> list[Invoice]:
    """Create many invoices and their plans under exactly the rules of
    :func:`invoice_create`, written in batches (one insert of the invoices and one of the
    installments per batch, the figures refreshed once). The caller has established that
    the customers exist (saved) and that the numbers are new, none twice: an import plans
    both for the whole file in a few queries. A refused entry raises
    :class:`EntryRefused` naming it. ``progress`` is told the count written after each
    batch (of ``batch_size``, default :data:`CREATE_BATCH`). Open it inside
    :func:`receivables.bounds.batch` for the entries' customers."""
    batch_size = batch_size or CREATE_BATCH
    today = timezone.localdate()
    audit.many_writes()
    created: list[Invoice] = []
    for start in range(0, len(entries), batch_size):
        checked: list[tuple[Invoice, list[Part]]] = []
        for index in range(start, min(start + batch_size, len(entries))):
            try:
                checked.append(_checked(entries[index], today=today, one=False))
            except ValidationError as exc:
                raise EntryRefused(index, exc) from exc
        _write(checked, start)
        created.extend(invoice for invoice, _parts in checked)
        if progress is not None:
            progress(len(created))
    figures.changed(
        customers={invoice.customer_id for invoice in created},
        invoices=[invoice.pk for invoice in created],
    )
    return created


def _write(checked: list[tuple[Invoice, list[Part]]], start: int) -> None:
    """Insert a batch of checked invoices and their installments. When the database
    refuses the batch, its entries are written again one by one to name the refused one
    (each in a savepoint; the caller's transaction is rolled back anyway)."""
    try:
        with transaction.atomic():
            Invoice.objects.bulk_create([invoice for invoice, _parts in checked])
            Installment.objects.bulk_create(
                [inst for invoice, parts in checked for inst in _installments(invoice, parts)]
            )
    except DatabaseError:
        for offset, (invoice, parts) in enumerate(checked):
            invoice.pk = None
            invoice._state.adding = True
            try:
                with transaction.atomic():
                    invoice.save()
                    Installment.objects.bulk_create(_installments(invoice, parts))
            except DatabaseError as exc:
                raise EntryRefused(start + offset, exc) from exc
        raise
