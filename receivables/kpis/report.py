"""The manager's page: top debtors, the outstanding trend over month ends, and every KPI
together."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core import access
from core.access import AnyUser
from core.money import ZERO
from receivables import figures
from receivables.kpis.behaviour import (
    Forecast,
    PaymentBehaviour,
    collection_forecast,
    payment_behaviour,
)
from receivables.kpis.figures import (
    OVERDUE_BUCKETS,
    TOP_DEBTORS,
    TREND_MONTHS,
    LedgerTotals,
    dso_from,
    ledger_totals,
    month_ends,
    net_sales,
    net_sales_at,
    sees_whole_ledger,
    totals_of,
    visible_customers,
)
from receivables.models import AgedBalanceSnapshot
from receivables.selectors import AgedBalance, aged_balance
from receivables.selectors.aged_balance import stored_largest

# --- Top debtors -----------------------------------------------------------------------


@dataclass(frozen=True)
class Debtor:
    customer_id: int
    customer_ref: str
    name: str
    total: Decimal
    overdue: Decimal


def top_of(ab: AgedBalance, limit: int) -> list[Debtor]:
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


def top_debtors(*, user: AnyUser, as_of: datetime.date, limit: int = TOP_DEBTORS) -> list[Debtor]:
    """The ``limit`` customers owing the most (net balance) as of ``as_of``, largest
    first, ties by reference: taken from the aged balance's rows (one per customer with a
    balance), so no second pass over the ledger is needed on the dashboard."""
    if figures.is_today(as_of):
        return [
            Debtor(customer_id=pk, customer_ref=ref, name=name, total=total, overdue=overdue)
            for pk, ref, name, total, overdue in stored_largest(user=user, limit=limit)
        ]
    return top_of(aged_balance(user=user, as_of=as_of), limit)


# --- Trend -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    as_of: datetime.date
    outstanding: Decimal
    overdue: Decimal
    sales: Decimal
    dso: Decimal | None


def outstanding_trend(
    *, user: AnyUser, as_of: datetime.date, months: int = TREND_MONTHS
) -> list[TrendPoint]:
    """Outstanding, overdue and DSO at each of the ``months`` latest month ends on or
    before ``as_of``, oldest first: ``months`` + 1 queries whatever the size of the
    ledger, one :func:`aged_balance` statement per month end (each reads every table
    once; folding twelve dates into one statement would multiply its work by twelve
    anyway) and one query of conditional sums for all the sales windows."""
    ends = month_ends(until=as_of, count=months)
    sales = net_sales_at(visible_customers(user), ends, whole_ledger=sees_whole_ledger(user))
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


def month_end_balances(
    *, user: AnyUser, ends: Sequence[datetime.date]
) -> dict[datetime.date, tuple]:
    """(outstanding, overdue) at each of ``ends``. For those who see the whole ledger,
    a month end with a monthly aged-balance snapshot is read from it (one query for all:
    the frozen figures the accounts work from); any other month end is computed with
    the aged balance (receivables.kpis), one statement each. Every month has a snapshot
    once the monthly schedule has run for a year, so the dashboard stays fast on a large
    ledger instead of recomputing twelve past month ends on each visit."""
    found: dict[datetime.date, tuple] = {}
    if access.may(user, access.Action.VIEW_ALL):
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


def manager_kpis(*, user: AnyUser, as_of: datetime.date) -> ManagerKpis:
    """Everything the manager page shows, in a fixed number of queries (17): the aged
    balance of the day serves both the totals and the top debtors."""
    if figures.is_today(as_of):  # two sums of the stored figures, no row read
        totals = ledger_totals(user=user, as_of=as_of)
        top = top_debtors(user=user, as_of=as_of)
    else:
        ab = aged_balance(user=user, as_of=as_of)
        totals, top = totals_of(ab), top_of(ab, TOP_DEBTORS)
    sales = net_sales(user=user, as_of=as_of)
    return ManagerKpis(
        as_of=as_of,
        totals=totals,
        sales=sales,
        dso=dso_from(totals.total, sales),
        behaviour=payment_behaviour(user=user, as_of=as_of),
        forecast=collection_forecast(user=user, as_of=as_of),
        top_debtors=top,
        trend=outstanding_trend(user=user, as_of=as_of),
    )
