"""The bank statement import: every booked line is recorded once as a :class:`BankTransaction`
(whatever file it comes in). An incoming credit whose references name exactly one open
invoice, in the ledger's currency and for no more than is open, becomes a payment
allocated to that invoice; every other credit waits in the matching queue (status
unmatched, with the reason). Returned direct debits reverse the payment they return.
The company's own debits create nothing. All or nothing per file: every bad entry is
reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from django.db.models import F, Sum
from django.utils.translation import gettext as _

from core.money import ZERO
from customers.models import Customer
from receivables import bounds, services
from receivables.imports.bank.matching import (
    invoice_numbers_named,
    reference_tokens,
    returned_payment,
)
from receivables.imports.bank.statements import BankLine, read_statement
from receivables.imports.base import Outcome, Progressive, fetch_in, writing_line
from receivables.imports.errors import ErrorList, ImportFileError
from receivables.models import (
    LEDGER_CURRENCY,
    BankTransaction,
    Invoice,
    Payment,
    return_reason,
    status_reason_text,
)
from receivables.references import (
    customer_creditor_reference,
    invoice_creditor_reference,
    named_by_references,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


def _reason(line: BankLine, code: str, **params: str) -> None:
    """Record why ``line`` is left as it is: the key and values (stored, shown in the
    reader's language) and the sentence in the importing user's (for the report)."""
    line.status_code, line.status_params = code, params
    line.status_reason = status_reason_text(code, params)


class OpenAmount(TypedDict):
    open_amount: Decimal | None


@dataclass
class BankPlan:
    lines: list[BankLine] = field(default_factory=list)
    known: list[BankLine] = field(default_factory=list)
    source: str = ""


class BankImporter(Progressive):
    """``import_bank_statement``: see DESIGN.md, "Contracts other tools rely on". It reads
    a file rather than a table, so its ``validate`` takes the path."""

    aliases: dict[str, str]  # an invoice's payment reference -> its number
    customer_refs: dict[str, Customer]  # a customer's creditor reference -> the customer

    def validate(self, path: str | Path) -> tuple[BankPlan, ErrorList]:
        errors = ErrorList()
        lines = read_statement(path, errors)
        if not lines and not errors:
            raise ImportFileError(_("The statement has no booked entry."))
        plan = BankPlan(source=Path(path).name[:255])
        ceiling = bounds.max_amount()
        for line in lines:
            if line.amount is not None:
                for message in bounds.amount_refusals(line.amount, ceiling=ceiling):
                    errors.add(line.line, f"amount: {message}")
            if line.date is not None:
                for message in bounds.not_future_refusals(
                    line.date, what=_("A bank line cannot be dated in the future.")
                ):
                    errors.add(line.line, message)
        if errors:
            return plan, errors
        known = set(
            BankTransaction.objects.filter(import_key__in=[ln.key for ln in lines]).values_list(
                "import_key", flat=True
            )
        )
        candidates = set().union(*(reference_tokens(ln.references()) for ln in lines))
        payable = (
            Invoice.objects.active()
            .invoices()
            .select_related("customer")
            .annotate(open_amount=Sum(F("installments__amount") - F("installments__paid_amount")))
        )
        invoices: dict[str, WithAnnotations[Invoice, OpenAmount]] = {
            i.number: i
            for i in fetch_in(payable, "number", candidates | {c.lower() for c in candidates})
        }
        by_reference = list(fetch_in(payable, "payment_reference", candidates))
        invoices.update((i.number, i) for i in by_reference)
        self.aliases = {i.payment_reference: i.number for i in by_reference}
        invoice_ids, customer_ids = named_by_references(candidates)
        for i in fetch_in(payable, "pk", invoice_ids):
            invoices[i.number] = i
            self.aliases[invoice_creditor_reference(invoice_id=i.pk)] = i.number
        self.customer_refs = {
            customer_creditor_reference(c.pk): c
            for c in Customer.objects.filter(pk__in=customer_ids)
        }
        left = {n: i.open_amount or ZERO for n, i in invoices.items()}
        open_numbers = {n for n, amount in left.items() if amount > 0}
        claimed: set[int] = set()  # payments already returned by an earlier line
        for line in lines:
            if line.key in known:
                plan.known.append(line)
                continue
            plan.lines.append(line)
            self._decide(line, invoices, left, open_numbers, claimed)
        # A customer's reference pays oldest first, which may be an invoice another line
        # of the file names: those are recorded last, after the invoices' own credits.
        by_customer = [ln for ln in plan.lines if ln.customer is not None]
        plan.lines = [ln for ln in plan.lines if ln.customer is None] + by_customer
        return plan, errors

    def _decide(
        self,
        line: BankLine,
        invoices: dict,
        left: dict,
        open_numbers: set[str],
        claimed: set[int],
    ) -> None:
        assert line.amount is not None
        unmatched = BankTransaction.Status.UNMATCHED
        if line.return_code or line.reversal:
            self._decide_return(line, claimed)
            return
        if line.direction == BankTransaction.Direction.DEBIT:
            line.status = BankTransaction.Status.IGNORED
            _reason(line, "debit")
            return
        line.status = unmatched
        if line.currency != LEDGER_CURRENCY:
            _reason(line, "currency", currency=line.currency, ledger=LEDGER_CURRENCY)
            return
        named = invoice_numbers_named(line.references(), open_numbers, self.aliases)
        if not named and self._decide_customer(line):
            return
        if not named:
            _reason(line, "none_named")
        elif len(named) > 1:
            _reason(line, "several_named", numbers=", ".join(sorted(named)))
        elif line.amount > left[next(iter(named))]:
            number = next(iter(named))
            _reason(
                line,
                "more_than_open",
                amount=str(line.amount),
                open=str(left[number]),
                number=number,
            )
        else:
            number = next(iter(named))
            left[number] -= line.amount
            if left[number] <= 0:
                open_numbers.discard(number)
            line.invoice = invoices[number]
            line.status = BankTransaction.Status.MATCHED
            line.status_reason, line.status_code, line.status_params = "", "", {}

    def _decide_customer(self, line: BankLine) -> bool:
        """A credit quoting one customer's creditor reference (the amount due of a
        reminder, a formal notice, the customer's page, the QR code) and no invoice:
        matched for sure, paid oldest installment first; what exceeds what is open (the
        interest and indemnities a formal notice claims) stays as the customer's
        unallocated credit. False when it names no single customer of ours."""
        assert line.amount is not None
        quoted = reference_tokens(line.references()) & self.customer_refs.keys()
        customers = {self.customer_refs[ref] for ref in quoted}
        if len(customers) != 1:
            return False
        customer = customers.pop()
        line.customer = customer
        line.status = BankTransaction.Status.MATCHED
        line.status_reason, line.status_code, line.status_params = "", "", {}
        return True

    def _decide_return(self, line: BankLine, claimed: set[int]) -> None:
        """A returned direct debit (or a reversed credit): find the payment it sends
        back, to be reversed by ``services.payment_return``; else it waits for a person."""
        assert line.amount is not None and line.date is not None
        code = line.return_code or "RvslInd"
        line.return_reason = return_reason(code)
        line.status = BankTransaction.Status.UNMATCHED
        if line.currency != LEDGER_CURRENCY:
            _reason(line, "currency", currency=line.currency, ledger=LEDGER_CURRENCY)
            return
        payment = returned_payment(line, exclude=claimed)
        if payment is None:
            _reason(line, "return_not_found", return_code=code)
            return
        claimed.add(payment.pk)
        line.returned = payment
        line.status = BankTransaction.Status.RETURNED
        _reason(line, "returned", return_code=code)

    def describe(self, plan: BankPlan) -> Outcome:
        counts = Counter(line.status for line in plan.lines)
        matched = sum(
            (ln.amount or ZERO for ln in plan.lines if ln.status == BankTransaction.Status.MATCHED),
            ZERO,
        )
        return Outcome(
            counts=[
                (_("bank lines already imported"), len(plan.known)),
                (_("credits matched and allocated"), counts[BankTransaction.Status.MATCHED]),
                (_("amount allocated to invoices"), matched),
                (
                    _("lines waiting in the matching queue"),
                    counts[BankTransaction.Status.UNMATCHED],
                ),
                (_("outgoing debits ignored"), counts[BankTransaction.Status.IGNORED]),
                (_("returned payments reversed"), counts[BankTransaction.Status.RETURNED]),
            ],
            notes=[
                _("line %(line)d: %(reason)s") % {"line": ln.line, "reason": ln.status_reason}
                for ln in plan.lines
                if ln.status == BankTransaction.Status.UNMATCHED
            ],
        )

    def apply(self, plan: BankPlan) -> Outcome:
        """Record every new line, and a payment for each matched credit; the caller
        holds the transaction."""
        for done, line in enumerate(plan.lines):
            self.tick(done)
            assert line.date is not None and line.amount is not None
            with writing_line(line.line):
                payment = None
                customer = None
                if line.status == BankTransaction.Status.RETURNED:
                    assert line.returned is not None
                    payment = services.payment_return(
                        payment=line.returned, on=line.date, reason=line.return_reason
                    )
                    customer = payment.customer
                elif line.status == BankTransaction.Status.MATCHED:
                    customer = line.invoice.customer if line.invoice else line.customer
                    assert customer is not None
                    payment = services.payment_record(
                        customer=customer,
                        invoice=line.invoice,
                        date=line.date,
                        amount=line.amount,
                        method=Payment.Method.TRANSFER,
                        reference=(line.bank_reference or line.end_to_end_id)[:100],
                    )
                BankTransaction.objects.create(
                    import_key=line.key,
                    date=line.date,
                    amount=line.amount,
                    currency=line.currency,
                    direction=line.direction,
                    bank_reference=line.bank_reference,
                    end_to_end_id=line.end_to_end_id,
                    creditor_reference=line.creditor_reference,
                    remittance=line.remittance,
                    counterparty_name=line.counterparty_name,
                    counterparty_iban=line.counterparty_iban,
                    return_code=line.return_code[:10],
                    status=line.status,
                    status_reason=line.status_reason[:255],
                    status_code=line.status_code,
                    status_params=line.status_params,
                    payment=payment,
                    customer=customer,
                    source=plan.source,
                )
        return self.describe(plan)
