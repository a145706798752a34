"""How a bank line is recognised: invoice numbers named in its references, the payer
by name or IBAN, the payment a returned direct debit reverses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.db.models import Q

from customers.models import Customer
from receivables.imports.bank.statements import BankLine
from receivables.imports.parsing import fold
from receivables.models import BankTransaction, Invoice, Payment
from receivables.references import creditor_references_in, named_by_references

# A token that may be an invoice number: letters, digits and the usual separators.
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.\-]*[A-Za-z0-9]|[A-Za-z0-9]")


def reference_tokens(text: str) -> set[str]:
    """What in ``text`` may name an invoice, in capitals: its words (invoice numbers,
    compact payment references) and the creditor references it quotes, even spaced."""
    return {t.upper() for t in TOKEN.findall(text)} | creditor_references_in(text)


def invoice_numbers_named(
    text: str, numbers: set[str], aliases: Mapping[str, str] | None = None
) -> set[str]:
    """The invoice numbers among ``numbers`` that ``text`` names as whole words (case
    apart): "F-12" is not named by "F-123". ``aliases`` maps an invoice's payment
    reference (compact, as stored) to its number: quoting it names the invoice."""
    upper = {n.upper(): n for n in numbers}
    named = set()
    for token in reference_tokens(text):
        number = token if token in upper else (aliases or {}).get(token, "").upper()
        if number in upper:
            named.add(upper[number])
    return named


def returned_payment(line: BankLine, *, exclude: set[int]) -> Payment | None:
    """The payment a returned direct debit sends back: the one whose reference (or
    whose bank line's end-to-end id) is the return's end-to-end id; else the latest
    payment of that amount, by direct debit, of the customer the return names (by its
    SEPA mandate, an invoice number, the counterparty's known IBAN or its exact name),
    dated on or before
    the return. None when there is none or no single one."""
    assert line.amount is not None and line.date is not None
    live = Payment.objects.filter(returned_on__isnull=True, date__lte=line.date).exclude(
        pk__in=exclude
    )
    if line.end_to_end_id:
        by_id = list(
            live.filter(
                Q(reference=line.end_to_end_id)
                | Q(bank_transactions__end_to_end_id=line.end_to_end_id)
            ).distinct()[:2]
        )
        if len(by_id) == 1:
            return by_id[0]
    customers = customers_named(line)
    if len(customers) != 1:
        return None
    same = live.filter(
        customer_id__in=customers, amount=line.amount, method=Payment.Method.DIRECT_DEBIT
    ).order_by("-date", "-pk")
    latest = list(same[:2])
    if not latest or (len(latest) == 2 and latest[1].date == latest[0].date):
        return None
    return latest[0]


def customers_named(line: BankLine) -> set[int]:
    """Ids of the customers a bank line points to: by the SEPA mandate a direct debit (or
    its return) names, else by an invoice number or payment reference in its references,
    else by a
    counterparty IBAN seen on an earlier line of a customer, else by the counterparty's
    exact name (case apart). Our own creditor references (a customer's or an invoice's)
    name their customer too."""
    if line.mandate_id:
        found = set(
            Customer.objects.filter(sepa_mandate=line.mandate_id).values_list("pk", flat=True)
        )
        if found:
            return found
    tokens = reference_tokens(line.references())
    if tokens:
        invoice_ids, customer_ids = named_by_references(tokens)
        found = set(
            Customer.objects.filter(
                Q(pk__in=customer_ids) | Q(invoices__pk__in=invoice_ids)
            ).values_list("pk", flat=True)
        )
        found |= set(
            Invoice.objects.filter(
                Q(number__in=tokens | {t.lower() for t in tokens}) | Q(payment_reference__in=tokens)
            ).values_list("customer_id", flat=True)
        )
        if found:
            return found
    if line.counterparty_iban:
        found = set(
            BankTransaction.objects.filter(
                counterparty_iban=line.counterparty_iban, customer__isnull=False
            ).values_list("customer_id", flat=True)
        )
        if found:
            return found
    name = fold(line.counterparty_name)
    if not name:
        return set()
    return {
        pk
        for pk, customer_name in Customer.objects.filter(
            name__iexact=line.counterparty_name.strip()
        ).values_list("pk", "name")
        if fold(customer_name) == name
    }
