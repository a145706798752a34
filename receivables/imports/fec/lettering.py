"""The FEC's lettering (``EcritureLet``, dated ``DateLet``) as allocations: the lines
sharing a letter within one account are allocated to each other, and what a later export
no longer letters together is released (with a dated reversal, nothing deleted), so each
customer's open items stay the unlettered lines of its account."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from core.money import ZERO
from receivables import services
from receivables.imports.base import fetch_in, writing_line
from receivables.models import Allocation, FecLine, Installment, Invoice

if TYPE_CHECKING:
    from receivables.imports.fec.importer import FecPlan, FecRow


def unlettered(plan: FecPlan) -> tuple[list[int], Decimal]:
    """The live allocations an earlier import made from the lettering that this file no
    longer letters together, and their sum: for each credit line already imported, its
    allocations to invoices of the books that are not in its lettering group now (an
    unlettered credit keeps none). Allocations made otherwise (a bank payment, a person)
    are left alone. Two queries whatever the file's size."""
    group_invoices: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for row in plan.rows:
        known = plan.known.get(row.key)
        if row.kind == "invoice" and row.letter and known is not None and known.invoice_id:
            group_invoices[(row.account, row.letter)].add(known.invoice_id)
    targets: dict[tuple[str, int], set[int]] = {}
    for row in plan.rows:
        known = plan.known.get(row.key)
        if row.kind == "invoice" or known is None:
            continue
        group = group_invoices.get((row.account, row.letter), set()) if row.letter else set()
        if known.payment_id:
            targets[("payment", known.payment_id)] = group
        elif known.invoice_id:
            targets[("credit_note", known.invoice_id)] = group
    if not targets:
        return [], ZERO
    payments = [pk for kind, pk in targets if kind == "payment"]
    notes = [pk for kind, pk in targets if kind == "credit_note"]
    books = set(
        FecLine.objects.filter(invoice__isnull=False).values_list("invoice_id", flat=True)
    )  # the invoices imported from the books: only their lettering is the FEC's
    released, amount = [], ZERO
    live = Allocation.objects.live().filter(installment__invoice_id__in=books)
    rows = list(
        live.filter(payment_id__in=payments).values_list(
            "pk", "payment_id", "credit_note_id", "installment__invoice_id", "amount"
        )
    ) + list(
        live.filter(credit_note_id__in=notes).values_list(
            "pk", "payment_id", "credit_note_id", "installment__invoice_id", "amount"
        )
    )
    for pk, payment_id, note_id, invoice_id, value in rows:
        key = ("payment", payment_id) if payment_id else ("credit_note", note_id)
        if invoice_id not in targets[key]:
            released.append(pk)
            amount += value
    return released, amount


def release(allocation_ids: list[int], *, on: datetime.date) -> None:
    """Release the allocations a lettering no longer holds, dated ``on``."""
    if allocation_ids:
        services.allocations_release(
            allocations=Allocation.objects.filter(pk__in=allocation_ids), on=on
        )


def letter(plan: FecPlan, lines: dict[str, FecLine]) -> Decimal:
    """Allocate, within each lettering group of an account, its credits (oldest first)
    to its debits' open installments (oldest due first), dated DateLet (or the
    credit's own date when later)."""
    groups: defaultdict[tuple[str, str], list[FecRow]] = defaultdict(list)
    for row in plan.rows:
        if row.letter:
            groups[(row.account, row.letter)].append(row)
    lettered: list[tuple[list[FecRow], set[int]]] = [
        (rows, {i for r in rows if (i := lines[r.key].invoice_id) and r.kind == "invoice"})
        for rows in groups.values()
        if any(r.kind != "invoice" for r in rows)
    ]
    # The open installments of every lettered invoice in a few queries; only this
    # lettering allocates to them in the transaction, so what stays open of a group
    # is what was open less what its credits allocated.
    open_of: defaultdict[int, list[Installment]] = defaultdict(list)
    for installment in fetch_in(
        Installment.objects.open().select_related("invoice"),
        "invoice_id",
        (i for _rows, ids in lettered for i in ids),
    ):
        open_of[installment.invoice_id].append(installment)
    allocated = ZERO
    for rows, invoice_ids in lettered:
        credits = sorted((r for r in rows if r.kind != "invoice"), key=lambda r: r.date)
        if not invoice_ids:
            continue
        on = max((r.letter_date for r in rows if r.letter_date), default=None) or max(
            r.date for r in rows
        )
        targets = sorted(
            (i for invoice_id in invoice_ids for i in open_of[invoice_id]), key=_oldest_due
        )
        left = sum((i.amount - i.paid_amount for i in targets), ZERO)
        for credit in credits:
            if left <= 0:
                break
            day = max(on, credit.date)  # never before the credit itself
            with writing_line(credit.line):
                fec_line = lines[credit.key]
                if fec_line.payment is not None:
                    done = services.payment_allocate(
                        payment=fec_line.payment, installments=targets, on=day
                    )
                else:
                    assert isinstance(fec_line.invoice, Invoice)
                    done = services.credit_note_allocate(
                        note=fec_line.invoice, installments=targets, on=day
                    )
            allocated += done
            left -= done
    return allocated


def _oldest_due(installment: Installment) -> tuple:
    """The order the lettering allocates in (as ``_open_installments_for_update``)."""
    invoice = installment.invoice
    return (installment.due_date, invoice.issue_date, invoice.number, installment.sequence)
