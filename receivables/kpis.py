"""The manager's KPIs: outstanding, overdue by bucket, DSO, payment behaviour, collection
forecast, top debtors and their 12-month trend.

Every figure is scoped through ``Customer.objects.visible_to(user)`` and computed by the
database in a fixed number of queries, whatever the number of customers or invoices: the
balances reuse :func:`receivables.selectors.aged_balance` (one set-based statement per
date); nothing loops over invoices in Python.

Definitions (also shown on the page):

- **Outstanding** is the net balance of the aged balance (open installments less
  unallocated credit); **overdue** its four past-due buckets; the **overdue share** is
  overdue / outstanding.
- **DSO** uses the standard *simple* method over a rolling quarter: outstanding on the
  day / net sales incl. tax invoiced in the 90 days ending that day (invoices less
  credit notes issued in that window) × 90. It is the method French SMEs know from the
  Banque de France ratio (receivables incl. tax / sales incl. tax × 360), on 90 days so
  that it follows the seasons; it is undefined (None) when there were no sales.
- **Average days late** weighs each payment allocation of the last 12 months by its
  amount: days late = allocation date − installment due date, an early payment counting
  as 0 (not as negative lateness, which would hide late payers behind early ones). Credit
  notes are not payments and are left out. The **on-time share** is the part of that
  amount allocated on or before the due date.
- The **collection forecast** expects each open installment on its due date shifted by
  its customer's average days late (the same measure, per customer, rounded to whole
  days; 0 without history). An installment whose expected date has already passed is
  expected *now*, so it falls into the first four weeks. Installments of disputed
  invoices are left out of the buckets (shown apart: they will not be collected before
  the dispute is resolved); unallocated credit is money already received and is ignored.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import NotSupportedError, connection
from django.db.models import (
    Case,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest, Round

from core import access
from customers.models import Customer
from receivables.models import (
    ZERO,
    AgedBalanceSnapshot,
    Allocation,
    Dispute,
    Installment,
    Invoice,
)
from receivables.selectors import BUCKETS, MONEY_FIELD, AgedBalance, aged_balance, to_cents

DSO_WINDOW_DAYS = 90
BEHAVIOUR_MONTHS = 12
TREND_MONTHS = 12
TOP_DEBTORS = 10
FORECAST_WEEKS: tuple[int, ...] = (4, 8, 12)
OVERDUE_BUCKETS: tuple[str, ...] = BUCKETS[1:]
TENTH = Decimal("0.1")
RATIO = Decimal("0.0001")
WEIGHT_FIELD = DecimalField(max_digits=24, decimal_places=2)


class DaysBetween(Func):
    """Whole days from ``start`` to ``end`` (``(end - start).days`` in Python) as an
    integer. Django's date subtraction yields a duration, which cannot be weighted by an
    amount nor compared with a number of days, hence one expression per backend."""

    arity = 2
    output_field = IntegerField()

    def __init__(self, end, start, **extra) -> None:
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"DaysBetween is not implemented for {connection.vendor}.")

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(ROUND(julianday(%(expressions)s)) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra_context,
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="((%(expressions)s)::date)",
            arg_joiner=")::date - (",
            **extra_context,
        )


def _date(day: datetime.date) -> Value:
    return Value(day, output_field=DateField())


def _ratio(part: Decimal, whole: Decimal, quantum: Decimal = RATIO) -> Decimal | None:
    return (part / whole).quantize(quantum) if whole > 0 else None


def _visible_customers(user) -> QuerySet[Customer]:
    return Customer.objects.visible_to(user)


def month_end(day: datetime.date) -> datetime.date:
    """The last day of ``day``'s month."""
    return day + relativedelta(day=31)


def month_ends(*, until: datetime.date, count: int) -> list[datetime.date]:
    """The ``count`` latest month ends on or before ``until``, oldest first."""
    last = (
        month_end(until)
        if month_end(until) == until
        else until.replace(day=1) - (datetime.timedelta(days=1))
    )
    return [month_end(last - relativedelta(months=n)) for n in range(count - 1, -1, -1)]


# --- Balances --------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerTotals:
    """The aged balance summed over the customers a user sees."""

    as_of: datetime.date
    not_due: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    overdue: Decimal
    total: Decimal

    @property
    def overdue_share(self) -> Decimal | None:
        """Overdue / outstanding, as a fraction (None when nothing is outstanding)."""
        return _ratio(self.overdue, self.total)

    @property
    def overdue_buckets(self) -> list[tuple[str, Decimal]]:
        return [(k, getattr(self, k)) for k in OVERDUE_BUCKETS]


def _totals(ab: AgedBalance) -> LedgerTotals:
    t = ab.totals
    overdue = sum((t[k] for k in OVERDUE_BUCKETS), ZERO)
    return LedgerTotals(as_of=ab.as_of, overdue=overdue, **{k: t[k] for k in (*BUCKETS, "total")})


def ledger_totals(*, user, as_of: datetime.date) -> LedgerTotals:
    """Outstanding, overdue and each aged-balance bucket over the customers ``user``
    sees, as of ``as_of``: the TOTAL row of :func:`receivables.selectors.aged_balance`
    (one set-based statement), so the dashboard and the aged balance always agree."""
    return _totals(aged_balance(user=user, as_of=as_of))


# --- Sales and DSO ---------------------------------------------------------------------


def _signed_amount() -> Case:
    return Case(
        When(kind=Invoice.Kind.CREDIT_NOTE, then=-F("amount")),
        default=F("amount"),
        output_field=MONEY_FIELD,
    )


def _net_sales(customers: QuerySet[Customer], ends: list[datetime.date]) -> dict:
    """Net sales incl. tax (invoices less credit notes) over the DSO window ending on
    each of ``ends``, in one query of conditional sums."""
    window = datetime.timedelta(days=DSO_WINDOW_DAYS)
    sums = (
        Invoice.objects.active()
        .filter(customer__in=customers)
        .aggregate(
            **{
                f"s{i}": Sum(
                    _signed_amount(),
                    filter=Q(issue_date__gt=end - window, issue_date__lte=end),
                    output_field=MONEY_FIELD,
                )
                for i, end in enumerate(ends)
            }
        )
    )
    return {end: to_cents(sums[f"s{i}"]) for i, end in enumerate(ends)}


def dso_from(outstanding: Decimal, sales: Decimal) -> Decimal | None:
    """Simple DSO: outstanding / sales of the window × its number of days, to a tenth
    of a day; None without sales (a DSO over no sales means nothing)."""
    if sales <= 0:
        return None
    return (outstanding / sales * DSO_WINDOW_DAYS).quantize(TENTH)


def net_sales(*, user, as_of: datetime.date) -> Decimal:
    """Net sales incl. tax of the :data:`DSO_WINDOW_DAYS` days ending on ``as_of``."""
    return _net_sales(_visible_customers(user), [as_of])[as_of]


def days_sales_outstanding(*, user, as_of: datetime.date) -> Decimal | None:
    """DSO as of ``as_of`` by the simple 90-day method (see the module docstring)."""
    totals = ledger_totals(user=user, as_of=as_of)
    return dso_from(totals.total, net_sales(user=user, as_of=as_of))


# --- Payment behaviour -----------------------------------------------------------------


def _payment_allocations(as_of: datetime.date) -> QuerySet[Allocation]:
    """Payment allocations (not credit notes) of the 12 months ending on ``as_of``, on
    installments of invoices that count, with ``days_late`` and ``late_days`` (the
    same, an early payment counting 0)."""
    start = as_of - relativedelta(months=BEHAVIOUR_MONTHS)
    return (
        Allocation.objects.filter(
            payment__isnull=False,
            date__gt=start,
            date__lte=as_of,
            installment__invoice__cancelled_at__isnull=True,
            installment__invoice__kind=Invoice.Kind.INVOICE,
        )
        .annotate(days_late=DaysBetween(F("date"), F("installment__due_date")))
        .annotate(late_days=Greatest(F("days_late"), Value(0)))
    )


def _weighted_lateness() -> ExpressionWrapper:
    return ExpressionWrapper(F("amount") * F("late_days"), output_field=WEIGHT_FIELD)


@dataclass(frozen=True)
class PaymentBehaviour:
    """How the customers paid over the 12 months ending on ``as_of``."""

    as_of: datetime.date
    since: datetime.date
    paid: Decimal
    average_days_late: Decimal | None
    on_time_share: Decimal | None


def payment_behaviour(*, user, as_of: datetime.date) -> PaymentBehaviour:
    """Amount-weighted average days late and on-time share of the payments allocated in
    the 12 months ending on ``as_of`` (see the module docstring), in one query."""
    sums = (
        _payment_allocations(as_of)
        .filter(installment__invoice__customer__in=_visible_customers(user))
        .aggregate(
            paid=Sum("amount", output_field=MONEY_FIELD),
            weighted=Sum(_weighted_lateness(), output_field=WEIGHT_FIELD),
            on_time=Sum("amount", filter=Q(days_late__lte=0), output_field=MONEY_FIELD),
        )
    )
    paid = to_cents(sums["paid"])
    weighted = to_cents(sums["weighted"])
    return PaymentBehaviour(
        as_of=as_of,
        since=as_of - relativedelta(months=BEHAVIOUR_MONTHS) + datetime.timedelta(days=1),
        paid=paid,
        average_days_late=_ratio(weighted, paid, TENTH),
        on_time_share=_ratio(to_cents(sums["on_time"]), paid),
    )


def customer_delays(*, user, as_of: datetime.date) -> QuerySet:
    """One row per customer ``user`` sees who paid something in the 12 months ending on
    ``as_of``: ``customer_id`` and ``delay``, the amount-weighted average days late of
    those payments rounded to whole days (as in :func:`payment_behaviour`). The division
    runs in floating point: SQLite would divide whole amounts as integers."""
    return (
        _payment_allocations(as_of)
        .filter(installment__invoice__customer__in=_visible_customers(user))
        .order_by()
        .values(customer_id=F("installment__invoice__customer"))
        .annotate(
            delay=Round(
                Cast(Sum(_weighted_lateness()), FloatField()) / Cast(Sum("amount"), FloatField())
            )
        )
    )


# --- Collection forecast ---------------------------------------------------------------


@dataclass(frozen=True)
class ForecastHorizon:
    weeks: int
    amount: Decimal  # expected in the weeks since the previous horizon
    cumulative: Decimal  # expected from now to this horizon


@dataclass(frozen=True)
class Forecast:
    as_of: datetime.date
    horizons: list[ForecastHorizon]
    later: Decimal
    disputed: Decimal


# The delays are a MATERIALIZED common table expression: computed once, whatever plan
# the database picks (with stale statistics after a bulk import, PostgreSQL would
# otherwise re-run a derived table for every open installment).
_FORECAST_SQL = """
WITH cd AS MATERIALIZED ({delays})
SELECT SUM(CASE WHEN f.f_disputed THEN f.f_left ELSE 0 END),
       {buckets}
FROM ({installments}) f
LEFT JOIN cd ON cd.customer_id = f.f_customer
"""
_FORECAST_BUCKET = (
    "SUM(CASE WHEN NOT f.f_disputed AND f.f_days + COALESCE(cd.delay, 0) > %s"
    " AND f.f_days + COALESCE(cd.delay, 0) <= %s THEN f.f_left ELSE 0 END)"
)


def collection_forecast(*, user, as_of: datetime.date) -> Forecast:
    """Cash expected in the next 4, 8 and 12 weeks from the open installments (see the
    module docstring for the rule), in one statement: the open installments (with the
    days to their due date and whether their invoice is disputed) are joined to
    :func:`customer_delays`, so each customer's delay is computed once, not once per
    installment, and the horizons are conditional sums."""
    has_dispute = Exists(Dispute.objects.open().filter(invoice=OuterRef("invoice")))
    installments = (
        Installment.objects.open()
        .filter(invoice__customer__in=_visible_customers(user))
        .order_by()
        .annotate(
            f_customer=F("invoice__customer"),
            f_left=ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MONEY_FIELD),
            f_disputed=has_dispute,
            f_days=DaysBetween(F("due_date"), _date(as_of)),
        )
        .values("f_customer", "f_left", "f_disputed", "f_days")
    )
    installments_sql, installments_params = installments.query.sql_with_params()
    delays_sql, delays_params = customer_delays(user=user, as_of=as_of).query.sql_with_params()
    # "Now" has no lower bound: what should already have been paid falls in the first
    # horizon; "later" has no upper bound.
    bounds = [-(10**6), *(weeks * 7 for weeks in FORECAST_WEEKS), 10**6]
    sql = _FORECAST_SQL.format(
        buckets=",\n       ".join([_FORECAST_BUCKET] * (len(bounds) - 1)),
        installments=installments_sql,
        delays=delays_sql,
    )
    # Parameters in the order they appear: the delays', the sums' bounds, the installments'.
    params = [*delays_params]
    params += [bound for pair in itertools.pairwise(bounds) for bound in pair]
    params += installments_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        disputed, *amounts = cursor.fetchone()
    horizons: list[ForecastHorizon] = []
    cumulative = ZERO
    for weeks, raw in zip(FORECAST_WEEKS, amounts, strict=False):
        amount = to_cents(raw)
        cumulative += amount
        horizons.append(ForecastHorizon(weeks=weeks, amount=amount, cumulative=cumulative))
    return Forecast(
        as_of=as_of,
        horizons=horizons,
        later=to_cents(amounts[-1]),
        disputed=to_cents(disputed),
    )


# --- Top debtors -----------------------------------------------------------------------


@dataclass(frozen=True)
class Debtor:
    customer_id: int
    customer_ref: str
    name: str
    total: Decimal
    overdue: Decimal


def _top(ab: AgedBalance, limit: int) -> list[Debtor]:
    owing = sorted(
        (r for r in ab.rows if r["total"] > 0), key=lambda r: (-r["total"], r["customer_ref"])
    )
    return [
        Debtor(
            customer_id=r["customer_id"],
            customer_ref=r["customer_ref"],
            name=r["customer_name"],
            total=r["total"],
            overdue=sum((r[k] for k in OVERDUE_BUCKETS), ZERO),
        )
        for r in owing[:limit]
    ]


def top_debtors(*, user, as_of: datetime.date, limit: int = TOP_DEBTORS) -> list[Debtor]:
    """The ``limit`` customers owing the most (net balance) as of ``as_of``, largest
    first, ties by reference: taken from the aged balance's rows (one per customer with a
    balance), so no second pass over the ledger is needed on the dashboard."""
    return _top(aged_balance(user=user, as_of=as_of), limit)


# --- Trend -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    as_of: datetime.date
    outstanding: Decimal
    overdue: Decimal
    sales: Decimal
    dso: Decimal | None


def outstanding_trend(
    *, user, as_of: datetime.date, months: int = TREND_MONTHS
) -> list[TrendPoint]:
    """Outstanding, overdue and DSO at each of the ``months`` latest month ends on or
    before ``as_of``, oldest first: ``months`` + 1 queries whatever the size of the
    ledger, one :func:`aged_balance` statement per month end (each reads every table
    once; folding twelve dates into one statement would multiply its work by twelve
    anyway) and one query of conditional sums for all the sales windows."""
    ends = month_ends(until=as_of, count=months)
    sales = _net_sales(_visible_customers(user), ends)
    balances = month_end_balances(user=user, ends=ends)
    return [
        TrendPoint(
            as_of=end,
            outstanding=balances[end][0],
            overdue=balances[end][1],
            sales=sales[end],
            dso=dso_from(balances[end][0], sales[end]),
        )
        for end in ends
    ]


def month_end_balances(*, user, ends: Sequence[datetime.date]) -> dict[datetime.date, tuple]:
    """(outstanding, overdue) at each of ``ends``. For those who see the whole ledger,
    a month end with a monthly aged-balance snapshot is read from it (one query for all:
    the frozen figures the accounts work from); any other month end is computed with
    the aged balance (receivables.kpis), one statement each. Every month has a snapshot
    once the monthly schedule has run for a year, so the dashboard stays fast on a large
    ledger instead of recomputing twelve past month ends on each visit."""
    found: dict[datetime.date, tuple] = {}
    if access.sees_all_customers(user):
        for snap in AgedBalanceSnapshot.objects.done().filter(as_of__in=list(ends)):
            overdue = snap.d1_30 + snap.d31_60 + snap.d61_90 + snap.d90_plus
            found[snap.as_of] = (snap.total, overdue)
    for end in ends:
        if end not in found:
            totals = ledger_totals(user=user, as_of=end)
            found[end] = (totals.total, totals.overdue)
    return found


# --- The manager page ------------------------------------------------------------------


@dataclass(frozen=True)
class ManagerKpis:
    as_of: datetime.date
    totals: LedgerTotals
    sales: Decimal
    dso: Decimal | None
    behaviour: PaymentBehaviour
    forecast: Forecast
    top_debtors: list[Debtor]
    trend: list[TrendPoint]


def manager_kpis(*, user, as_of: datetime.date) -> ManagerKpis:
    """Everything the manager page shows, in a fixed number of queries (17): the aged
    balance of the day serves both the totals and the top debtors."""
    ab = aged_balance(user=user, as_of=as_of)
    totals = _totals(ab)
    sales = net_sales(user=user, as_of=as_of)
    return ManagerKpis(
        as_of=as_of,
        totals=totals,
        sales=sales,
        dso=dso_from(totals.total, sales),
        behaviour=payment_behaviour(user=user, as_of=as_of),
        forecast=collection_forecast(user=user, as_of=as_of),
        top_debtors=_top(ab, TOP_DEBTORS),
        trend=outstanding_trend(user=user, as_of=as_of),
    )
