"""Payment import: bank receipts matched to invoices by number.

Each payment is recorded through :func:`receivables.services.payment_record` on the
invoice it names, so it pays that invoice's installments oldest first and any excess
stays as the customer's unallocated credit. Every row gets an ``import_key`` (a hash of
its content and of how many identical rows precede it in the file), stored on the
payment: re-importing a file recognises what it already recorded, while two genuinely
identical payments in one file stay two payments.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import F, Sum
from django.utils.translation import gettext as _

from core.money import ZERO
from receivables import bounds, services
from receivables.imports.base import Importer, Outcome, RowReader, fetch_in, writing_line
from receivables.imports.errors import ErrorList
from receivables.imports.parsing import CellError, cell_text, fold, parse_amount, parse_date
from receivables.imports.reader import Table
from receivables.models import Invoice, Payment

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class OpenAmount(TypedDict):
    open_amount: Decimal | None  # what is left to pay on the invoice


# Accepted spellings (compared accent- and case-insensitively), French and English.
METHOD_ALIASES: dict[str, str] = {
    "transfer": Payment.Method.TRANSFER,
    "bank_transfer": Payment.Method.TRANSFER,
    "virement": Payment.Method.TRANSFER,
    "virement_bancaire": Payment.Method.TRANSFER,
    "cheque": Payment.Method.CHEQUE,
    "check": Payment.Method.CHEQUE,
    "card": Payment.Method.CARD,
    "carte": Payment.Method.CARD,
    "carte_bancaire": Payment.Method.CARD,
    "cb": Payment.Method.CARD,
    "direct_debit": Payment.Method.DIRECT_DEBIT,
    "prelevement": Payment.Method.DIRECT_DEBIT,
    "other": Payment.Method.OTHER,
    "autre": Payment.Method.OTHER,
}


def parse_method(value: object) -> str:
    """A payment method code from its English or French name (``virement``,
    ``chèque``, ``carte``, ``prélèvement``...); empty means a bank transfer."""
    text = fold(cell_text(value))
    if not text:
        return Payment.Method.TRANSFER
    try:
        return METHOD_ALIASES[text]
    except KeyError:
        raise CellError(
            _("%(value)s is not a payment method; use one of %(choices)s.")
            % {"value": cell_text(value), "choices": ", ".join(Payment.Method.values)}
        ) from None


def import_key(
    *,
    number: str,
    date: datetime.date,
    amount: Decimal,
    reference: str,
    method: str,
    occurrence: int,
) -> str:
    """The identity of an imported payment: sha256 hex of
    ``number|date|amount|reference|method|occurrence``, where ``occurrence`` counts the
    identical rows before it in the file (1 for the first)."""
    raw = "|".join((number, date.isoformat(), f"{amount:.2f}", reference, method, str(occurrence)))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class PaymentRow:
    line: int
    number: str
    date: datetime.date | None
    amount: Decimal | None
    reference: str
    method: str
    key: str = ""
    invoice: Invoice | None = None
    valid: bool = True


@dataclass
class PaymentPlan:
    new_payments: list[PaymentRow] = field(default_factory=list)
    unchanged: list[PaymentRow] = field(default_factory=list)
    # Expected allocation, from the invoices' open amounts at validation time.
    allocated: Decimal = ZERO
    credit: Decimal = ZERO


class PaymentImporter(Importer):
    """``import_payments``: see DESIGN.md, "Contracts other tools rely on"."""

    required = ("invoice_number", "payment_date", "amount")
    optional = ("reference", "method")

    def validate(self, table: Table) -> tuple[PaymentPlan, ErrorList]:
        """Check every row and find its invoice; nothing is written."""
        errors = ErrorList()
        for error in table.errors:
            errors.add(error.line, error.message)
        rows = self._parse_rows(table, errors)
        invoices: dict[str, WithAnnotations[Invoice, OpenAmount]] = {
            i.number: i
            for i in fetch_in(
                Invoice.objects.select_related("customer").annotate(
                    open_amount=Sum(F("installments__amount") - F("installments__paid_amount"))
                ),
                "number",
                (r.number for r in rows if r.number),
            )
        }
        known_keys = {
            p.import_key
            for p in fetch_in(
                Payment.objects.only("import_key"), "import_key", (r.key for r in rows if r.key)
            )
        }
        plan = PaymentPlan()
        left = {number: inv.open_amount or ZERO for number, inv in invoices.items()}
        for row in rows:
            if not row.number:
                continue
            invoice = invoices.get(row.number)
            if invoice is None:
                errors.add(row.line, _("unknown invoice %(number)s.") % {"number": row.number})
                continue
            if invoice.is_credit_note:
                errors.add(
                    row.line,
                    _("%(number)s is a credit note; a payment must name an invoice.")
                    % {"number": row.number},
                )
                continue
            if invoice.is_cancelled:
                errors.add(
                    row.line,
                    _("invoice %(number)s is cancelled.") % {"number": row.number},
                )
                continue
            row.invoice = invoice
            if not row.valid:
                continue
            if row.key in known_keys:
                plan.unchanged.append(row)
                continue
            assert row.amount is not None  # a valid row's cells all parsed
            share = min(left[row.number], row.amount)
            left[row.number] -= share
            plan.allocated += share
            plan.credit += row.amount - share
            plan.new_payments.append(row)
        return plan, errors

    def _parse_rows(self, table: Table, errors: ErrorList) -> list[PaymentRow]:
        rows: list[PaymentRow] = []
        seen: Counter[tuple] = Counter()
        max_reference = Payment._meta.get_field("reference").max_length
        ceiling = bounds.max_amount()
        for line, raw in table.rows:
            cells = RowReader(line, raw, errors)
            number = cells.required("invoice_number")
            date = cells.parse("payment_date", parse_date)
            amount = cells.parse("amount", parse_amount)
            if amount is not None and amount <= 0:
                cells.error(
                    _("amount: %(amount)s; a payment amount must be positive.") % {"amount": amount}
                )
            elif amount is not None:
                for message in bounds.amount_refusals(amount, ceiling=ceiling):
                    cells.error(f"amount: {message}")
            reference = cells.check_length("reference", cells.optional("reference"), max_reference)
            method = cells.parse("method", parse_method, required=False) or Payment.Method.TRANSFER
            row = PaymentRow(line, number, date, amount, reference, method, valid=cells.ok)
            if row.valid:
                identity = (number, date, amount, reference, method)
                seen[identity] += 1
                row.key = import_key(
                    number=number, date=date, amount=amount, reference=reference,
                    method=method, occurrence=seen[identity],
                )  # fmt: skip
            rows.append(row)
        return rows

    def describe(self, plan: PaymentPlan) -> Outcome:
        return Outcome(
            counts=[
                (_("payments created"), len(plan.new_payments)),
                (_("payments unchanged"), len(plan.unchanged)),
                (_("amount allocated to invoices"), plan.allocated),
                (_("amount left as unallocated credit"), plan.credit),
            ]
        )

    def apply(self, plan: PaymentPlan) -> Outcome:
        """Record each payment on its invoice, in file order; the caller holds the
        transaction, so a refusal undoes the whole file."""
        allocated = ZERO
        credit = ZERO
        with bounds.batch():  # the ceiling read once, not once per payment
            for done, row in enumerate(plan.new_payments):
                self.tick(done)
                # A row planned for recording is valid and has found its invoice.
                assert row.invoice is not None and row.date is not None
                assert row.amount is not None
                with writing_line(row.line):
                    payment = services.payment_record(
                        customer=row.invoice.customer,
                        invoice=row.invoice,
                        date=row.date,
                        amount=row.amount,
                        method=row.method,
                        reference=row.reference,
                        import_key=row.key,
                    )
                allocated += payment.allocated_amount
                credit += payment.amount - payment.allocated_amount
        plan.allocated, plan.credit = allocated, credit
        return self.describe(plan)
