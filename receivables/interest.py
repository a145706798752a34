"""Late-payment interest and the fixed recovery indemnity (Code de commerce L441-10, D441-5).

The rules (DESIGN.md, "Money and law"), as implemented here:

- Interest runs from the day after an installment's due date, at the contract rate when
  the company set one (``CompanyProfile.late_interest_rate``), else at the ECB main
  refinancing rate + 10 points. The ECB rate of a day is the one in force on 1 January
  for a day from 1 January to 30 June, the one in force on 1 July for a day from 1 July
  to 31 December (the ``ReferenceRate`` table, data that administrators extend).
- Interest accrues day by day on what is actually unpaid. Days are counted as the
  difference of dates: an amount due on 10 March and paid on 20 March bears 10 days of
  interest, the 11th to the 20th inclusive. Put the other way, interest for day D is
  owed on what was still unpaid at the end of day D - 1: an allocation dated P stops the
  interest on its amount from day P + 1, and the interest accrued until then stays due.
  This is the reading DESIGN.md's own example fixes (1000 EUR due 10 June, unpaid until
  20 July: 20 days in June at the first half-year's rate, 20 days in July at the second).
- A year counts 365 days, leap years included (day rate = annual rate / 365). Counting
  366 in leap years would be a legitimate alternative; one convention, stated here and
  on the letter, keeps every figure checkable by hand.
- Each invoice's interest is the exact sum over its days, rounded to the cent once, at
  the end (ROUND_HALF_UP). The per-period figures shown on a letter are that period's
  share rounded for display; they may differ from the total by a cent or so.
- A fixed EUR 40 recovery indemnity is owed per invoice paid late (D441-5).

The computation itself is pure (dates, amounts and a rate table in, periods out), so it
is tested by hand-computed cases and by property tests against a day-by-day model.
:func:`customer_late_claims` is the selector reading the ledger for one customer.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext as _

from core.money import CENT, ZERO
from customers.models import Customer
from receivables.models import Allocation, Dispute, Installment, Invoice, ReferenceRate

DAYS_PER_YEAR = 365
LEGAL_MARGIN = Decimal("10.00")  # points added to the ECB rate (L441-10)
RECOVERY_INDEMNITY = Decimal("40.00")  # per late invoice (D441-5)
_ONE_DAY = datetime.timedelta(days=1)


class MissingReferenceRateError(LookupError):
    """No ECB rate is recorded for a half-year that interest has to be computed for."""

    def __init__(self, half_year_start: datetime.date) -> None:
        self.half_year_start = half_year_start
        super().__init__(
            _(
                "No ECB reference rate in force on %(date)s: add it in the admin (ECB "
                "reference rates)."
            )
            % {"date": half_year_start.isoformat()}
        )


@dataclass(frozen=True)
class RateTable:
    """The ECB rates as (start date, rate in per cent) pairs, in any order."""

    entries: tuple[tuple[datetime.date, Decimal], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(sorted(self.entries)))

    def in_force_on(self, day: datetime.date) -> tuple[datetime.date, Decimal] | None:
        """The entry in force on ``day``: the latest one starting on or before it."""
        found = None
        for start, rate in self.entries:
            if start > day:
                break
            found = (start, rate)
        return found

    def ecb_rate_for(self, day: datetime.date) -> Decimal:
        """The ECB rate that applies to ``day``: the one in force on the first day of
        its half-year."""
        start = half_year_start(day)
        entry = self.in_force_on(start)
        if entry is None:
            raise MissingReferenceRateError(start)
        return entry[1]

    def is_confirmed(self, day: datetime.date) -> bool:
        """True when a row starts exactly on ``day``'s half-year start, i.e. an
        administrator entered that half-year's rate rather than it being carried over
        from an older row (worth a warning before a letter goes out)."""
        start = half_year_start(day)
        return any(s == start for s, _ in self.entries)


def half_year_start(day: datetime.date) -> datetime.date:
    """1 January or 1 July of ``day``'s half-year."""
    return datetime.date(day.year, 1 if day.month <= 6 else 7, 1)


def half_year_label(start: datetime.date) -> str:
    """The half-year starting on ``start`` in plain words: "second half of 2026"."""
    if start.month <= 6:
        return _("first half of %(year)s") % {"year": start.year}
    return _("second half of %(year)s") % {"year": start.year}


def half_years_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The starts of the half-years that the days ``first``..``last`` fall in."""
    starts = []
    start = half_year_start(first)
    while start <= last:
        starts.append(start)
        if start.month == 1:
            start = datetime.date(start.year, 7, 1)
        else:
            start = datetime.date(start.year + 1, 1, 1)
    return starts


def load_rate_table() -> RateTable:
    """The whole ``ReferenceRate`` table (a few rows per year), in one query."""
    return RateTable(tuple(ReferenceRate.objects.values_list("start_date", "rate")))


@dataclass(frozen=True)
class DueAmount:
    """An installment as the interest computation sees it: what fell due when, and the
    allocations (payments, credit notes) applied to it with their dates."""

    due_date: datetime.date
    amount: Decimal
    allocations: tuple[tuple[datetime.date, Decimal], ...] = ()

    def unpaid_after(self, day: datetime.date) -> Decimal:
        """What was still unpaid at the end of ``day``."""
        return self.amount - sum((a for d, a in self.allocations if d <= day), ZERO)


@dataclass(frozen=True)
class InterestPeriod:
    """A run of consecutive days with the same unpaid base and the same rate."""

    start: datetime.date  # first day of interest, inclusive
    end: datetime.date  # last day of interest, inclusive
    base: Decimal  # unpaid amount bearing interest
    rate: Decimal  # annual rate in per cent
    reference_rate: Decimal | None  # the ECB rate it derives from; None for a contract rate

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def exact_interest(self) -> Decimal:
        return self.base * self.rate * self.days / (100 * DAYS_PER_YEAR)

    @property
    def interest(self) -> Decimal:
        """This period's share, rounded for display only."""
        return self.exact_interest.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class InterestResult:
    periods: tuple[InterestPeriod, ...]

    @property
    def interest(self) -> Decimal:
        """The invoice's interest, rounded to the cent once. The sum of base x rate x
        days is exact (two-decimal amounts and rates, whole days), so only the single
        division by 36,500 and the final rounding touch precision."""
        numerator = sum((p.base * p.rate * p.days for p in self.periods), Decimal(0))
        return (numerator / (100 * DAYS_PER_YEAR)).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def rates(self) -> tuple[Decimal, ...]:
        """The distinct rates used, in the order first used."""
        return tuple(dict.fromkeys(p.rate for p in self.periods))


def late_interest(
    dues: Iterable[DueAmount],
    *,
    as_of: datetime.date,
    rates: RateTable,
    contract_rate: Decimal | None = None,
) -> InterestResult:
    """The late interest on one invoice's installments, for every day up to and
    including ``as_of`` (the letter's date).

    The days are cut at every point where the base or the rate can change (an
    installment falling due, an allocation, 1 January, 1 July); consecutive pieces with
    the same base and rate are merged into one period, which is what the letter prints.
    """
    dues = [d for d in dues if d.amount > 0 and d.due_date < as_of]
    if not dues:
        return InterestResult(periods=())
    first = min(d.due_date for d in dues) + _ONE_DAY
    cuts = {first, as_of + _ONE_DAY}
    for d in dues:
        cuts.add(d.due_date + _ONE_DAY)
        cuts.update(day + _ONE_DAY for day, _ in d.allocations)
    for year in range(first.year, as_of.year + 1):
        cuts.update((datetime.date(year, 1, 1), datetime.date(year, 7, 1)))
    bounds = sorted(c for c in cuts if first <= c <= as_of + _ONE_DAY)

    periods: list[InterestPeriod] = []
    for start, stop in itertools.pairwise(bounds):
        # Day ``start`` bears interest on what was unpaid at the end of the day before.
        base = sum((d.unpaid_after(start - _ONE_DAY) for d in dues if d.due_date < start), ZERO)
        if base <= 0:
            continue
        if contract_rate is not None:
            rate, reference = contract_rate, None
        else:
            reference = rates.ecb_rate_for(start)
            rate = reference + LEGAL_MARGIN
        end = stop - _ONE_DAY
        last = periods[-1] if periods else None
        if (
            last is not None
            and last.end + _ONE_DAY == start
            and (last.base, last.rate, last.reference_rate) == (base, rate, reference)
        ):
            periods[-1] = InterestPeriod(last.start, end, base, rate, reference)
        else:
            periods.append(InterestPeriod(start, end, base, rate, reference))
    return InterestResult(periods=tuple(periods))


# --- the selector ------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceClaim:
    """What one late invoice owes as of a date: the letter's table row."""

    invoice: Invoice
    amount: Decimal  # the invoice total
    paid: Decimal  # allocated on or before the date
    left: Decimal  # unpaid on the date, all installments
    overdue_left: Decimal  # unpaid on the date, installments already due: what is claimed
    first_overdue_due_date: datetime.date  # the oldest unpaid installment's due date
    days_late: int
    interest: InterestResult
    indemnity: Decimal
    # The overdue installments claimed, (installment id, unpaid on the date), due order.
    installments: tuple[tuple[int, Decimal], ...] = ()

    @property
    def not_yet_due(self) -> Decimal:
        return self.left - self.overdue_left

    @property
    def total(self) -> Decimal:
        return self.overdue_left + self.interest.interest + self.indemnity


@dataclass(frozen=True)
class CustomerClaim:
    """Everything a formal notice claims from a customer as of ``as_of``."""

    customer: Customer
    as_of: datetime.date
    invoices: tuple[InvoiceClaim, ...]
    contract_rate: Decimal | None
    unconfirmed_half_years: tuple[datetime.date, ...] = field(default=())

    @property
    def unconfirmed_half_year_labels(self) -> list[str]:
        """The half-years whose ECB rate is carried over, in plain words (active language)."""
        return [half_year_label(start) for start in self.unconfirmed_half_years]

    @property
    def principal(self) -> Decimal:
        return sum((c.overdue_left for c in self.invoices), ZERO)

    @property
    def interest(self) -> Decimal:
        return sum((c.interest.interest for c in self.invoices), ZERO)

    @property
    def indemnities(self) -> Decimal:
        return sum((c.indemnity for c in self.invoices), ZERO)

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.indemnities

    @property
    def is_empty(self) -> bool:
        return not self.invoices


def claim_for_invoice(
    invoice: Invoice,
    installments: Sequence[Installment],
    *,
    as_of: datetime.date,
    rates: RateTable,
    contract_rate: Decimal | None = None,
) -> InvoiceClaim | None:
    """The claim on one invoice as of ``as_of``, or None when nothing due is unpaid.
    ``installments`` must carry their ``allocations`` (prefetched); allocations dated
    after ``as_of`` are ignored, so a claim can be recomputed for any past date."""
    dues = [
        DueAmount(
            due_date=i.due_date,
            amount=i.amount,
            allocations=tuple((a.date, a.amount) for a in i.allocations.all() if a.date <= as_of),
        )
        for i in installments
    ]
    overdue = [d for d in dues if d.due_date < as_of and d.unpaid_after(as_of) > 0]
    if not overdue:
        return None
    left = sum((d.unpaid_after(as_of) for d in dues), ZERO)
    first_due = min(d.due_date for d in overdue)
    return InvoiceClaim(
        invoice=invoice,
        amount=invoice.amount,
        paid=invoice.amount - left,
        left=left,
        overdue_left=sum((d.unpaid_after(as_of) for d in overdue), ZERO),
        first_overdue_due_date=first_due,
        days_late=(as_of - first_due).days,
        interest=late_interest(dues, as_of=as_of, rates=rates, contract_rate=contract_rate),
        indemnity=RECOVERY_INDEMNITY,
        installments=tuple(
            (i.pk, d.unpaid_after(as_of))
            for i, d in zip(installments, dues, strict=True)
            if d.due_date < as_of and d.unpaid_after(as_of) > 0
        ),
    )


def customer_late_claims(
    *,
    customer: Customer,
    as_of: datetime.date,
    contract_rate: Decimal | None = None,
    rates: RateTable | None = None,
    include_disputed: bool = False,
) -> CustomerClaim:
    """The late invoices of ``customer`` as of ``as_of``, each with its unpaid overdue
    amount, interest and indemnity, oldest due first.

    Only invoices issued on or before ``as_of`` and not cancelled count, less the
    allocations dated on or before it. Invoices with an open dispute are left out unless
    ``include_disputed``: a formal notice must not claim a contested debt. Three queries
    (invoices, installments, allocations) plus one for the rate table if not given.
    """
    rates = rates if rates is not None else load_rate_table()
    invoices = (
        Invoice.objects.active()
        .invoices()
        .filter(customer=customer, issue_date__lte=as_of)
        .prefetch_related(
            Prefetch(
                "installments",
                queryset=Installment.objects.order_by("sequence").prefetch_related(
                    Prefetch("allocations", queryset=Allocation.objects.order_by("date", "pk"))
                ),
            )
        )
        .order_by("due_date", "number")
    )
    if not include_disputed:
        invoices = invoices.exclude(Exists(Dispute.objects.open().filter(invoice=OuterRef("pk"))))
    claims = []
    for invoice in invoices:
        claim = claim_for_invoice(
            invoice,
            invoice.installments.all(),
            as_of=as_of,
            rates=rates,
            contract_rate=contract_rate,
        )
        if claim is not None:
            claims.append(claim)
    claims.sort(key=lambda c: (c.first_overdue_due_date, c.invoice.number))
    unconfirmed: set[datetime.date] = set()
    if contract_rate is None:
        for claim in claims:
            for period in claim.interest.periods:
                for start in half_years_between(period.start, period.end):
                    if not rates.is_confirmed(start):
                        unconfirmed.add(start)
    return CustomerClaim(
        customer=customer,
        as_of=as_of,
        invoices=tuple(claims),
        contract_rate=contract_rate,
        unconfirmed_half_years=tuple(sorted(unconfirmed)),
    )
