"""The ledger's bounds, in one place: what an amount or a date of a new entry may be.

The services call these checks, so a form, an import and any future API are held to the
same limits; forms also call them to show a refusal beside the field. Each check returns
its refusals (``refusals``, never overridden) or its warnings (``warnings``, which a
person may confirm: see core/confirm.py). One window of plausible dates around today:

- a new entry dated more than :data:`CONFIRM_BEFORE` ago needs a confirmation (an old
  invoice entered late is possible, a typed 2001 for 2025 is likelier);
- nothing is dated more than :data:`AT_MOST_AHEAD` ahead (an issue date, a promised date,
  a pause, a next action);
- a due date is at most :data:`AT_MOST_AHEAD` after its issue date;
- nothing is dated before :data:`EARLIEST_DAY` (1 January 1999: the euro, and the first
  ECB rate the interest is computed from).

A promise to pay is held to tighter limits, because it stops a customer's reminders: its
date is at most :func:`promise_max_days` ahead (setting ``RELANCE_PROMISE_MAX_DAYS``,
90 days by default), and it covers at least :func:`promise_min_share` of what falls due
by its date on the invoices it holds (setting ``RELANCE_PROMISE_MIN_SHARE``, one fifth
by default): a customer who promises less names the invoices the promise is for. The
ledger's rule (``PromiseToPay.objects.holding_on``) also stops a promise from holding
longer than that maximum after it was recorded, whatever its date, so a row entered
before these bounds cannot silence a customer for ever either.

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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import parse_day_option
from core.money import ZERO, format_money_active
from customers.models import Contact, Customer
from receivables.models import CompanyProfile, Installment, Invoice
from receivables.models.disputes import promise_max_days

CONFIRM_BEFORE = datetime.timedelta(days=365)
AT_MOST_AHEAD = datetime.timedelta(days=365)
EARLIEST_DAY = datetime.date(1999, 1, 1)
# The furthest a due date of the ledger may plausibly lie ahead of today: the far end of
# the issue dates plus the longest payment term.
DUE_AHEAD = AT_MOST_AHEAD * 2
PROMISE_MIN_SHARE = Decimal("0.2")


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


def too_early_refusals(day: datetime.date) -> list[str]:
    if day < EARLIEST_DAY:
        return [
            _("%(day)s is before %(earliest)s: check for a typing error.")
            % {"day": _day(day), "earliest": _day(EARLIEST_DAY)}
        ]
    return []


def plausible_due_date(day: datetime.date, *, today: datetime.date | None = None) -> bool:
    """Whether an installment's due date lies in the ledger's window: what the daily run
    reminds (a row outside it is skipped and reported, never planned)."""
    today = today or timezone.localdate()
    return EARLIEST_DAY <= day <= today + DUE_AHEAD


def looked_at_refusals(day: datetime.date, *, today: datetime.date | None = None) -> list[str]:
    """A day the ledger is looked at on (a run of the reminders, an aged balance, a
    letter's date): from :data:`EARLIEST_DAY` to :data:`DUE_AHEAD` ahead of today, where
    the ledger's dates lie (beyond, the calendar arithmetic of interest, grace days and
    age buckets would leave the years 1 to 9999)."""
    today = today or timezone.localdate()
    latest = today + DUE_AHEAD
    if day > latest:
        return [
            _("%(day)s is too far ahead: choose a day up to %(latest)s.")
            % {"day": _day(day), "latest": _day(latest)}
        ]
    return too_early_refusals(day)


def looked_at_option(value: str, option: str) -> datetime.date:
    """A command's date option (:func:`core.dates.parse_day_option`) held to
    :func:`looked_at_refusals`: a ``CommandError`` naming the option otherwise."""
    day = parse_day_option(value, option)
    if refusals := looked_at_refusals(day):
        raise CommandError(
            _("Invalid date for %(option)s: %(error)s")
            % {"option": option, "error": " ".join(refusals)}
        )
    return day


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
    """An issue date in the window, a due date at most a year after it."""
    return (
        too_early_refusals(issue_date)
        + not_too_far_refusals(issue_date, today=today)
        + due_date_refusals(issue_date, due_date)
    )


def due_date_refusals(issue_date: datetime.date, due_date: datetime.date | None) -> list[str]:
    # (A difference, not issue_date + AT_MOST_AHEAD: that overflows in December 9999.)
    if due_date is not None and due_date - issue_date > AT_MOST_AHEAD:
        return [
            _("The due date %(due)s is more than a year after the issue date.")
            % {"due": _day(due_date)}
        ]
    return []


# The longest an installment plan may run, first part to last (an equal monthly plan has
# at most 120 parts: receivables.forms.MAX_MONTHLY_PARTS).
PLAN_MONTHS = 120


def plan_refusals(issue_date: datetime.date, due_dates: list[datetime.date]) -> list[str]:
    """A plan given part by part (a custom plan): its first part at most a year after the
    issue date, its last within :data:`PLAN_MONTHS` months of its first, as a monthly
    plan's, so no part lies years outside the ledger's window."""
    if not due_dates:
        return []
    first, last = min(due_dates), max(due_dates)
    refusals = due_date_refusals(issue_date, first)
    if (last.year - first.year) * 12 + last.month - first.month >= PLAN_MONTHS:
        refusals.append(
            _(
                "The last part, due %(last)s, is %(months)s months or more after the first "
                "(%(first)s): a plan runs for less than %(months)s months."
            )
            % {"last": _day(last), "first": _day(first), "months": PLAN_MONTHS}
        )
    return refusals


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


def open_amount(
    customer: Customer, invoices: Iterable[Invoice] = (), *, due_by: datetime.date | None = None
) -> Decimal:
    """What is left to pay on the named invoices, else on all the customer's (only the
    installments due by ``due_by`` when it is given)."""
    qs = Installment.objects.open().filter(invoice__customer=customer)
    if due_by is not None:
        qs = qs.filter(due_date__lte=due_by)
    ids = [i.pk for i in invoices]
    if ids:
        qs = qs.filter(invoice_id__in=ids)
    total = qs.aggregate(s=Sum("amount") - Sum("paid_amount"))["s"]
    return total or ZERO


def promise_min_share() -> Decimal:
    """The least part of what is left on the invoices a promise holds that it covers."""
    return Decimal(str(getattr(settings, "RELANCE_PROMISE_MIN_SHARE", PROMISE_MIN_SHARE)))


def promise_refusals(
    *,
    customer: Customer,
    promised_date: datetime.date,
    amount: Decimal,
    invoices: list[Invoice],
    today: datetime.date | None = None,
) -> list[str]:
    """A promise is dated from today to :func:`promise_max_days` ahead, on open invoices,
    for at most what is left to pay on them and at least :func:`promise_min_share` of
    what falls due by its date (all the customer's invoices when it names none)."""
    today = today or timezone.localdate()
    refusals = from_today_refusals(promised_date, today=today)
    latest = today + datetime.timedelta(days=promise_max_days())
    if not refusals and promised_date > latest:
        refusals.append(
            _(
                "%(day)s is too far ahead for a promise: a promise holds reminders for "
                "%(days)s days at most (up to %(latest)s)."
            )
            % {"day": _day(promised_date), "days": promise_max_days(), "latest": _day(latest)}
        )
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
    # What the promise must answer: what falls due by its date on what it holds.
    owed = open_amount(customer, invoices, due_by=promised_date) if not refusals else left
    least = (owed * promise_min_share()).quantize(Decimal("0.01"))
    if amount > left:
        refusals.append(
            _("%(amount)s is more than what is left to pay (%(left)s).")
            % {"amount": format_money_active(amount), "left": format_money_active(left)}
        )
    elif amount < least:
        refusals.append(
            _(
                "%(amount)s is less than %(least)s, the least part of what is due by that "
                "day (%(owed)s) a promise must cover: name the invoices the customer "
                "promised to pay."
            )
            % {
                "amount": format_money_active(amount),
                "least": format_money_active(least),
                "owed": format_money_active(owed),
            }
        )
    return refusals
