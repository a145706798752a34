"""The ledger's figures on a date: outstanding and overdue, month ends, net sales and DSO
(definitions in receivables/kpis/__init__.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import NotSupportedError
from django.db.models import (
    Case,
    DateField,
    DecimalField,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from core import access
from core.access import AnyUser
from core.money import MONEY_FIELD, ZERO, to_cents
from customers.models import Customer
from receivables import figures
from receivables.models import Invoice, SalesDay
from receivables.selectors import BUCKETS, AgedBalance, aged_balance
from receivables.selectors.aged_balance import stored_totals

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

    def as_sql(
        self, compiler, connection, function=None, template=None, arg_joiner=None, **extra_context
    ):
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


def sql_date(day: datetime.date) -> Value:
    return Value(day, output_field=DateField())


def ratio(part: Decimal, whole: Decimal, quantum: Decimal = RATIO) -> Decimal | None:
    return (part / whole).quantize(quantum) if whole > 0 else None


def visible_customers(user: AnyUser) -> QuerySet[Customer]:
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
        return ratio(self.overdue, self.total)

    @property
    def overdue_buckets(self) -> list[tuple[str, Decimal]]:
        return [(k, getattr(self, k)) for k in OVERDUE_BUCKETS]


def totals_of(ab: AgedBalance) -> LedgerTotals:
    t = ab.totals
    overdue = sum((t[k] for k in OVERDUE_BUCKETS), ZERO)
    return LedgerTotals(as_of=ab.as_of, overdue=overdue, **{k: t[k] for k in (*BUCKETS, "total")})


def ledger_totals(*, user: AnyUser, as_of: datetime.date) -> LedgerTotals:
    """Outstanding, overdue and each aged-balance bucket over the customers ``user``
    sees, as of ``as_of``: the TOTAL row of :func:`receivables.selectors.aged_balance`
    (one set-based statement), so the dashboard and the aged balance always agree."""
    if figures.is_today(as_of):
        t = stored_totals(user=user)
        overdue = sum((t[k] for k in OVERDUE_BUCKETS), ZERO)
        return LedgerTotals(as_of=as_of, overdue=overdue, **{k: t[k] for k in (*BUCKETS, "total")})
    return totals_of(aged_balance(user=user, as_of=as_of))


# --- Sales and DSO ---------------------------------------------------------------------


def signed_amount() -> Case:
    return Case(
        When(kind=Invoice.Kind.CREDIT_NOTE, then=-F("amount")),
        default=F("amount"),
        output_field=MONEY_FIELD,
    )


def net_sales_at(
    customers: QuerySet[Customer], ends: list[datetime.date], *, whole_ledger: bool = False
) -> dict:
    """Net sales incl. tax (invoices less credit notes, cancelled ones left out) over the
    DSO window ending on each of ``ends``, in one query of conditional sums: over the
    stored sales of each day (receivables/figures.py) when ``customers`` are the whole
    ledger (``whole_ledger``: the caller sees every customer), else over their invoices."""
    window = datetime.timedelta(days=DSO_WINDOW_DAYS)
    if whole_ledger:
        days = SalesDay.objects.filter(day__gt=min(ends) - window, day__lte=max(ends))
        sums = days.aggregate(
            **{
                f"s{i}": Sum("amount", filter=Q(day__gt=end - window, day__lte=end))
                for i, end in enumerate(ends)
            }
        )
    else:
        sums = (
            Invoice.objects.active()
            .filter(customer__in=customers)
            .aggregate(
                **{
                    f"s{i}": Sum(
                        signed_amount(),
                        filter=Q(issue_date__gt=end - window, issue_date__lte=end),
                        output_field=MONEY_FIELD,
                    )
                    for i, end in enumerate(ends)
                }
            )
        )
    return {end: to_cents(sums[f"s{i}"]) for i, end in enumerate(ends)}


def sees_whole_ledger(user: AnyUser) -> bool:
    """Whether ``user`` sees every customer (the stored whole-ledger figures apply)."""
    return access.may(user, access.Action.VIEW_ALL)


def dso_from(outstanding: Decimal, sales: Decimal) -> Decimal | None:
    """Simple DSO: outstanding / sales of the window × its number of days, to a tenth
    of a day; None without sales (a DSO over no sales means nothing)."""
    if sales <= 0:
        return None
    return (outstanding / sales * DSO_WINDOW_DAYS).quantize(TENTH)


def net_sales(*, user: AnyUser, as_of: datetime.date) -> Decimal:
    """Net sales incl. tax of the :data:`DSO_WINDOW_DAYS` days ending on ``as_of``."""
    return net_sales_at(visible_customers(user), [as_of], whole_ledger=sees_whole_ledger(user))[
        as_of
    ]


def days_sales_outstanding(*, user: AnyUser, as_of: datetime.date) -> Decimal | None:
    """DSO as of ``as_of`` by the simple 90-day method (see the module docstring)."""
    totals = ledger_totals(user=user, as_of=as_of)
    return dso_from(totals.total, net_sales(user=user, as_of=as_of))
