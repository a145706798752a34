"""The ledger's bounds, in one place: what an amount or a date of a new entry may be.

The services call these checks, so a form, an import and any future API are held to the
same limits; forms also call them to show a refusal beside the field. Each check returns
its refusals (``refusals``, never overridden) or its warnings (``warnings``, which a
person may confirm: see core/confirm.py). One window of plausible dates around today:

- a new entry dated more than :data:`CONFIRM_BEFORE` ago needs a confirmation (an old
  invoice entered late is possible, a typed 2001 for 2025 is likelier);
- nothing is dated more than :data:`AT_MOST_AHEAD` ahead (an issue date, a promised date,
  a pause, a next action);
- a due date is at most :data:`AT_MOST_AHEAD` after its issue date.

Amounts are strictly positive and at most the company's ``max_amount``
(:class:`~receivables.models.CompanyProfile`), which administrators may raise.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO, format_money_active
from customers.models import Contact, Customer
from receivables.models import CompanyProfile, Installment, Invoice

CONFIRM_BEFORE = datetime.timedelta(days=365)
AT_MOST_AHEAD = datetime.timedelta(days=365)


def _day(day: datetime.date) -> str:
    # ISO, as the ledger's other messages: 03/01/2001 reads differently in French and English.
    return day.isoformat()


def refuse(messages: list[str]) -> None:
    """Raise the refusals, if any, as one ``ValidationError``."""
    if messages:
        raise ValidationError(messages)


# --- amounts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Known:
    ceiling: Decimal
    customers: frozenset[int]
    po_required: frozenset[int]


_known: ContextVar[_Known | None] = ContextVar("receivables_bounds_known", default=None)
# Stay under SQLite's limit on query parameters (as the imports do).
_CHUNK = 500


@contextmanager
def batch(customer_ids: Iterable[int] = ()) -> Iterator[None]:
    """A batch of writes in one transaction (an import): inside it, the checks read the
    company's ceiling once, and whether each of ``customer_ids`` requires a PO number
    once for all of them, instead of one query per entry. The answers are the same as
    asking each time (customers outside ``customer_ids`` are still asked); open it after
    writing the customers' contacts."""
    ids = sorted(set(customer_ids))
    required: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        required.update(
            Contact.objects.filter(customer_id__in=ids[start : start + _CHUNK], po_required=True)
            .values_list("customer_id", flat=True)
            .distinct()
        )
    token = _known.set(_Known(max_amount(), frozenset(ids), frozenset(required)))
    try:
        yield
    finally:
        _known.reset(token)


def max_amount() -> Decimal:
    known = _known.get()
    if known is not None:
        return known.ceiling
    return CompanyProfile.get().max_amount


def amount_refusals(amount: Decimal, *, ceiling: Decimal | None = None) -> list[str]:
    """An amount is strictly positive and at most the company's ceiling."""
    if amount <= 0:
        return [_("The amount must be greater than zero.")]
    ceiling = max_amount() if ceiling is None else ceiling
    if amount > ceiling:
        return [
            _(
                "%(amount)s is above the largest amount accepted (%(max)s): check for a "
                "typing error, or ask an administrator to raise the limit."
            )
            % {"amount": format_money_active(amount), "max": format_money_active(ceiling)}
        ]
    return []


# --- dates -------------------------------------------------------------------------------


def latest_day(today: datetime.date | None = None) -> datetime.date:
    """The latest day anything new may be dated (the window's far end)."""
    return (today or timezone.localdate()) + AT_MOST_AHEAD


def not_too_far_refusals(day: datetime.date, *, today: datetime.date | None = None) -> list[str]:
    latest = latest_day(today)
    if day > latest:
        return [
            _("%(day)s is too far ahead: choose a day up to %(latest)s.")
            % {"day": _day(day), "latest": _day(latest)}
        ]
    return []


def from_today_refusals(day: datetime.date, *, today: datetime.date | None = None) -> list[str]:
    """A day from today to the window's far end (a promise, a pause, a next action)."""
    today = today or timezone.localdate()
    if day < today:
        return [_("%(day)s is in the past: choose today or a later day.") % {"day": _day(day)}]
    return not_too_far_refusals(day, today=today)


def old_date_warnings(day: datetime.date, *, today: datetime.date | None = None) -> list[str]:
    """A new entry dated more than a year ago is confirmed, never accepted silently."""
    today = today or timezone.localdate()
    if day < today - CONFIRM_BEFORE:
        return [
            _("%(day)s is more than a year ago: confirm this date is not a typing error.")
            % {"day": _day(day)}
        ]
    return []


def issue_date_refusals(
    issue_date: datetime.date, due_date: datetime.date | None = None, *, today=None
) -> list[str]:
    """An issue date up to the window's far end, a due date at most that far after it."""
    return not_too_far_refusals(issue_date, today=today) + due_date_refusals(issue_date, due_date)


def due_date_refusals(issue_date: datetime.date, due_date: datetime.date | None) -> list[str]:
    if due_date is not None and due_date > issue_date + AT_MOST_AHEAD:
        return [
            _("The due date %(due)s is more than a year after the issue date.")
            % {"due": _day(due_date)}
        ]
    return []


def not_future_refusals(day: datetime.date, *, what: str) -> list[str]:
    """What has happened (a payment received, a credit note issued) is never dated
    after today; ``what`` is the translated refusal."""
    return [what] if day > timezone.localdate() else []


# --- the purchase-order number -----------------------------------------------------------


def po_required(customer: Customer) -> bool:
    known = _known.get()
    if known is not None and customer.pk in known.customers:
        return customer.pk in known.po_required
    return Contact.objects.filter(customer=customer, po_required=True).exists()


def po_warnings(customer: Customer, po_number: str, *, required: bool | None = None) -> list[str]:
    """A customer whose contact requires a PO number gets an invoice with one, or a
    confirmed one without (their accounts payable may reject it)."""
    if po_number.strip():
        return []
    if required is None:
        required = po_required(customer)
    if required:
        return [
            _(
                "%(customer)s requires a purchase-order number on its invoices and none is "
                "given: the invoice may be rejected."
            )
            % {"customer": customer.name}
        ]
    return []


def invoice_checks(
    *,
    customer: Customer,
    issue_date: datetime.date,
    due_date: datetime.date | None,
    amount: Decimal,
    po_number: str = "",
    today: datetime.date | None = None,
) -> tuple[list[str], list[str]]:
    """The refusals and the warnings of a new invoice."""
    refusals = amount_refusals(amount) + issue_date_refusals(issue_date, due_date, today=today)
    warnings = old_date_warnings(issue_date, today=today) + po_warnings(customer, po_number)
    return refusals, warnings


# --- promises ----------------------------------------------------------------------------


def open_invoices(customer: Customer):
    """The customer's invoices that something is still due on (not cancelled, not paid):
    the only ones a promise or a dispute may name."""
    return (
        Invoice.objects.active()
        .invoices()
        .filter(customer=customer, pk__in=Installment.objects.open().values("invoice"))
        .order_by("due_date", "issue_date", "number")
    )


def open_amount(customer: Customer, invoices: Iterable[Invoice] = ()) -> Decimal:
    """What is left to pay on the named invoices, else on all the customer's."""
    qs = Installment.objects.open().filter(invoice__customer=customer)
    ids = [i.pk for i in invoices]
    if ids:
        qs = qs.filter(invoice_id__in=ids)
    total = qs.aggregate(s=Sum("amount") - Sum("paid_amount"))["s"]
    return total or ZERO


def promise_refusals(
    *,
    customer: Customer,
    promised_date: datetime.date,
    amount: Decimal,
    invoices: list[Invoice],
    today: datetime.date | None = None,
) -> list[str]:
    refusals = from_today_refusals(promised_date, today=today)
    if amount <= 0:
        return [*refusals, _("The amount must be greater than zero.")]
    open_ids = set(open_invoices(customer).values_list("pk", flat=True))
    closed = [i.number for i in invoices if i.pk not in open_ids]
    if closed:
        refusals.append(
            _("Nothing is left to pay on %(numbers)s: a promise covers open invoices only.")
            % {"numbers": ", ".join(closed)}
        )
        return refusals
    left = open_amount(customer, invoices)
    if amount > left:
        refusals.append(
            _("%(amount)s is more than what is left to pay (%(left)s).")
            % {"amount": format_money_active(amount), "left": format_money_active(left)}
        )
    return refusals
