"""The matching queue: incoming credits no payment was recorded for, each with the open
invoices it may pay and why (what the queue page will show, for a person to confirm)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, Sum
from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext as _

from core.access import Action, AnyUser, may
from customers.models import Customer
from receivables.imports.bank.matching import invoice_numbers_named, reference_tokens
from receivables.models import LEDGER_CURRENCY, Allocation, BankTransaction, Invoice


@dataclass(frozen=True)
class Proposal:
    invoice: Invoice
    open_amount: Decimal
    reason: str


@dataclass
class QueueLine:
    transaction: BankTransaction
    proposals: list[Proposal] = field(default_factory=list)


def _open_invoices():
    return (
        Invoice.objects.active()
        .invoices()
        .select_related("customer")
        .annotate(open_amount=Sum(F("installments__amount") - F("installments__paid_amount")))
        .filter(open_amount__gt=0)
    )


def match_queue(*, user: AnyUser, only: Iterable[int] | None = None) -> list[QueueLine]:
    """The credits waiting for a match, oldest first, with their proposals:

    - each open invoice the references name (when they name several, or more than it owes);
    - the open invoice of exactly the amount, when it is the only one of a payer
      recognised by its exact name (case apart) or by an IBAN it paid from before.

    Credits in another currency than the ledger's get no proposal: they never move a
    balance. Customers outside the user's scope are never proposed. ``only``: these
    lines (ids) alone, e.g. the one row a page re-renders. A fixed number of queries
    whatever the queue's length."""
    waiting = BankTransaction.objects.awaiting_match()
    if only is not None:
        waiting = waiting.filter(pk__in=list(only))
    lines = [QueueLine(t) for t in waiting.order_by("date", "pk")]
    usable = [q for q in lines if q.transaction.currency == LEDGER_CURRENCY]
    if not usable:
        return lines
    visible = Customer.objects.visible_to(user)
    tokens = set().union(*(reference_tokens(_references(q.transaction)) for q in usable))
    named = {
        i.number: i
        for i in _open_invoices().filter(
            Q(number__in=tokens | {t.lower() for t in tokens}) | Q(payment_reference__in=tokens),
            customer__in=visible,
        )
    }
    aliases = {i.payment_reference: n for n, i in named.items() if i.payment_reference}
    names = {q.transaction.counterparty_name.strip().lower() for q in usable} - {""}
    by_name: dict[str, set[int]] = defaultdict(set)
    for pk, name in (
        visible.annotate(folded=Lower(Trim("name"))).filter(folded__in=names)
    ).values_list("pk", "folded"):
        by_name[name].add(pk)
    ibans = {q.transaction.counterparty_iban for q in usable} - {""}
    by_iban: dict[str, set[int]] = defaultdict(set)
    for iban, pk in (
        BankTransaction.objects.filter(
            counterparty_iban__in=ibans, customer__isnull=False, customer__in=visible
        )
        .values_list("counterparty_iban", "customer_id")
        .distinct()
    ):
        by_iban[iban].add(pk)
    payers = set().union(*by_name.values(), *by_iban.values())
    open_of: dict[int, list[Any]] = defaultdict(list)  # invoices with their open_amount
    for invoice in _open_invoices().filter(customer_id__in=payers).order_by("due_date", "number"):
        open_of[invoice.customer_id].append(invoice)

    for q in usable:
        t = q.transaction
        for number in sorted(invoice_numbers_named(_references(t), set(named), aliases)):
            invoice = named[number]
            q.proposals.append(
                Proposal(invoice, invoice.open_amount, _("named in the payment's references"))
            )
        found = {p.invoice.pk for p in q.proposals}
        payer_ways = (
            (by_name.get(t.counterparty_name.strip().lower(), set()), _("its name")),
            (
                by_iban.get(t.counterparty_iban, set()) if t.counterparty_iban else set(),
                _("a known IBAN"),
            ),
        )
        for customers, how in payer_ways:
            for customer_id in sorted(customers):
                exact = [i for i in open_of[customer_id] if i.open_amount == t.amount]
                if len(exact) == 1 and exact[0].pk not in found:
                    found.add(exact[0].pk)
                    q.proposals.append(
                        Proposal(
                            exact[0],
                            exact[0].open_amount,
                            _(
                                "%(customer)s, recognised by %(how)s, has one open invoice "
                                "of exactly this amount"
                            )
                            % {"customer": exact[0].customer.name, "how": how},
                        )
                    )
    return lines


def _references(t: BankTransaction) -> str:
    return " ".join((t.remittance, t.end_to_end_id, t.creditor_reference))


def set_aside_lines(*, user: AnyUser) -> list[BankTransaction]:
    """The credits finance staff set aside, latest first, with who did it (one query)."""
    if not may(user, Action.IMPORT):
        return []
    return list(
        BankTransaction.objects.set_aside()
        .select_related("handled_by")
        .order_by("-handled_at", "-date", "-pk")
    )


@dataclass
class ReturnLine:
    transaction: BankTransaction
    reopened: list[Invoice] = field(default_factory=list)


def recent_returns(*, user: AnyUser, since: datetime.date) -> list[ReturnLine]:
    """The returned direct debits (and reversals) booked since ``since``, latest first,
    with the customer and the invoices each reopened (those its payment had paid): the
    reversed payment's released allocations. Two queries whatever their number. A
    return whose payment was not found shows with its reason and no invoice."""
    if not may(user, Action.IMPORT):
        return []
    lines = [
        ReturnLine(t)
        for t in BankTransaction.objects.returns()
        .filter(date__gte=since)
        .select_related("customer", "payment")
        .order_by("-date", "-pk")
    ]
    by_payment = {
        line.transaction.payment_id: line for line in lines if line.transaction.payment_id
    }
    if by_payment:
        seen: set[tuple[int, int]] = set()
        for allocation in (
            Allocation.objects.filter(payment_id__in=by_payment, reverses__isnull=True)
            .select_related("installment__invoice")
            .order_by("installment__invoice__due_date", "installment__invoice__number")
        ):
            invoice, payment_id = allocation.installment.invoice, allocation.payment_id
            assert payment_id is not None  # filtered on it
            if (payment_id, invoice.pk) not in seen:
                seen.add((payment_id, invoice.pk))
                by_payment[payment_id].reopened.append(invoice)
    return lines


def queue_size() -> int:
    """How many credits wait in the matching queue (one count)."""
    return BankTransaction.objects.awaiting_match().count()
