"""How customers pay: average days late, the on-time share, each customer's delay, and the
collection forecast built on it (definitions in receivables/kpis/__init__.py)."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import (
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Greatest, Round

from core.access import AnyUser
from core.money import MONEY_FIELD, ZERO, to_cents
from customers.models import Customer
from receivables import figures
from receivables.kpis.figures import (
    BEHAVIOUR_MONTHS,
    FORECAST_WEEKS,
    TENTH,
    WEIGHT_FIELD,
    DaysBetween,
    ratio,
    sql_date,
    visible_customers,
)
from receivables.models import (
    Allocation,
    CustomerFigures,
    Dispute,
    Installment,
    Invoice,
)

# --- Payment behaviour -----------------------------------------------------------------

# Whose figures: a queryset of customers (a user's scope), or their ids (a refresh of the
# stored figures: filtered on the invoices' own column, no join the planner could
# misjudge).
type Customers = QuerySet[Customer] | list[int] | None  # None: the whole ledger


def _of(customers: Customers, lookup: str) -> Q:
    return Q() if customers is None else Q(**{f"{lookup}__in": customers})


def payment_allocations(as_of: datetime.date) -> QuerySet[Allocation]:
    """Payment allocations (not credit notes) of the 12 months ending on ``as_of``, on
    installments of invoices that count, with ``days_late`` and ``late_days`` (the
    same, an early payment counting 0)."""
    start = as_of - relativedelta(months=BEHAVIOUR_MONTHS)
    return (
        # Live ones: a released allocation and its reversal say no payment behaviour.
        Allocation.objects.live()
        .filter(
            payment__isnull=False,
            date__gt=start,
            date__lte=as_of,
            installment__invoice__cancelled_at__isnull=True,
            installment__invoice__kind=Invoice.Kind.INVOICE,
        )
        .annotate(days_late=DaysBetween(F("date"), F("installment__due_date")))
        .annotate(late_days=Greatest(F("days_late"), Value(0)))
    )


def weighted_lateness() -> ExpressionWrapper:
    return ExpressionWrapper(F("amount") * F("late_days"), output_field=WEIGHT_FIELD)


# A customer who pays more than this many days late on average (the measure above) is a
# late payer: the customer page flags it.
LATE_PAYER_DAYS = 15


def is_late_payer(average_days_late: Decimal | None) -> bool:
    """Whether an average lateness (:func:`payment_behaviour`'s measure) makes a late
    payer; no payment history, no verdict (False)."""
    return average_days_late is not None and average_days_late > LATE_PAYER_DAYS


@dataclass(frozen=True)
class PaymentBehaviour:
    """How the customers paid over the 12 months ending on ``as_of``."""

    as_of: datetime.date
    since: datetime.date
    paid: Decimal
    average_days_late: Decimal | None
    on_time_share: Decimal | None


def behaviour_sums(customers: Customers, as_of: datetime.date) -> QuerySet:
    """Per customer of ``customers`` who paid something in the 12 months ending on
    ``as_of``: ``customer_id``, ``paid``, ``weighted`` (amount × days late) and
    ``on_time``, in one grouped query (stored by receivables/figures.py for today)."""
    return (
        payment_allocations(as_of)
        .filter(_of(customers, "installment__invoice__customer"))
        .order_by()
        .values(customer_id=F("installment__invoice__customer"))
        .annotate(
            paid=Sum("amount", output_field=MONEY_FIELD),
            weighted=Sum(weighted_lateness(), output_field=WEIGHT_FIELD),
            on_time=Sum("amount", filter=Q(days_late__lte=0), output_field=MONEY_FIELD),
        )
    )


def payment_behaviour(*, user: AnyUser, as_of: datetime.date) -> PaymentBehaviour:
    """Amount-weighted average days late and on-time share of the payments allocated in
    the 12 months ending on ``as_of`` (see the module docstring), in one query: for today
    a sum of the customers' stored figures (receivables/figures.py), else over the
    allocations."""
    if figures.is_today(as_of):
        figures.ensure_current()
        sums = CustomerFigures.objects.filter(customer__in=visible_customers(user)).aggregate(
            paid=Sum("paid_12m"), weighted=Sum("late_weight_12m"), on_time=Sum("on_time_12m")
        )
    else:
        sums = (
            payment_allocations(as_of)
            .filter(installment__invoice__customer__in=visible_customers(user))
            .aggregate(
                paid=Sum("amount", output_field=MONEY_FIELD),
                weighted=Sum(weighted_lateness(), output_field=WEIGHT_FIELD),
                on_time=Sum("amount", filter=Q(days_late__lte=0), output_field=MONEY_FIELD),
            )
        )
    paid = to_cents(sums["paid"])
    weighted = to_cents(sums["weighted"])
    return PaymentBehaviour(
        as_of=as_of,
        since=as_of - relativedelta(months=BEHAVIOUR_MONTHS) + datetime.timedelta(days=1),
        paid=paid,
        average_days_late=ratio(weighted, paid, TENTH),
        on_time_share=ratio(to_cents(sums["on_time"]), paid),
    )


def customer_delays(*, user: AnyUser, as_of: datetime.date) -> QuerySet:
    """One row per customer ``user`` sees who paid something in the 12 months ending on
    ``as_of``: ``customer_id`` and ``delay``, the amount-weighted average days late of
    those payments rounded to whole days (as in :func:`payment_behaviour`). The division
    runs in floating point: SQLite would divide whole amounts as integers."""
    return (
        payment_allocations(as_of)
        .filter(installment__invoice__customer__in=visible_customers(user))
        .order_by()
        .values(customer_id=F("installment__invoice__customer"))
        .annotate(delay=_delay(Sum(weighted_lateness()), Sum("amount")))
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


# Per customer: what is disputed, and the open installments in each horizon, their due
# date shifted by the customer's delay (``delays``: customer_id, delay). The delays are a
# MATERIALIZED common table expression: computed once, whatever plan the database picks
# (with stale statistics after a bulk import, PostgreSQL would otherwise re-run a derived
# table for every open installment).
_FORECAST_BY_CUSTOMER_SQL = """
WITH cd AS MATERIALIZED ({delays})
SELECT f.f_customer AS customer_id,
       SUM(CASE WHEN f.f_disputed THEN f.f_left ELSE 0 END) AS disputed,
       {buckets}
FROM ({installments}) f
LEFT JOIN cd ON cd.customer_id = f.f_customer
GROUP BY f.f_customer
"""
_FORECAST_BUCKET = (
    "SUM(CASE WHEN NOT f.f_disputed AND f.f_days + COALESCE(cd.delay, 0) > %s"
    " AND f.f_days + COALESCE(cd.delay, 0) <= %s THEN f.f_left ELSE 0 END) AS {name}"
)
# The horizons' columns: one per week count of FORECAST_WEEKS, then "later".
FORECAST_COLUMNS: tuple[str, ...] = (*(f"h{i}" for i in range(len(FORECAST_WEEKS))), "later")


def forecast_by_customer_sql(
    customers: Customers, as_of: datetime.date, *, delays: tuple[str, list] | None = None
) -> tuple[str, list]:
    """The statement (and its parameters) giving, per customer of ``customers`` with an
    open installment, ``disputed`` and the horizons of :data:`FORECAST_COLUMNS` (see the
    module docstring for the rule). ``delays``: the SQL of (customer_id, delay) to use,
    by default :func:`customer_delays` computed from the allocations."""
    has_dispute = Exists(Dispute.objects.open().filter(invoice=OuterRef("invoice")))
    installments = (
        Installment.objects.open()
        .filter(_of(customers, "invoice__customer"))
        .order_by()
        .annotate(
            f_customer=F("invoice__customer"),
            f_left=ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MONEY_FIELD),
            f_disputed=has_dispute,
            f_days=DaysBetween(F("due_date"), sql_date(as_of)),
        )
        .values("f_customer", "f_left", "f_disputed", "f_days")
    )
    installments_sql, installments_params = installments.query.sql_with_params()
    if delays is None:
        delays = _delays_sql(customers, as_of)
    delays_sql, delays_params = delays
    # "Now" has no lower bound: what should already have been paid falls in the first
    # horizon; "later" has no upper bound.
    bounds = [-(10**6), *(weeks * 7 for weeks in FORECAST_WEEKS), 10**6]
    sql = _FORECAST_BY_CUSTOMER_SQL.format(
        buckets=",\n       ".join(
            _FORECAST_BUCKET.replace("{name}", name) for name in FORECAST_COLUMNS
        ),
        installments=installments_sql,
        delays=delays_sql,
    )
    # Parameters in the order they appear: the delays', the sums' bounds, the installments'.
    params = [*delays_params]
    params += [bound for pair in itertools.pairwise(bounds) for bound in pair]
    params += installments_params
    return sql, params


def _delays_sql(customers: Customers, as_of: datetime.date) -> tuple[str, list]:
    sql, params = (
        payment_allocations(as_of)
        .filter(_of(customers, "installment__invoice__customer"))
        .order_by()
        .values(customer_id=F("installment__invoice__customer"))
        .annotate(delay=_delay(Sum(weighted_lateness()), Sum("amount")))
        .query.sql_with_params()
    )
    return sql, list(params)


def _delay(weighted, paid) -> Round:
    """Whole days: the weighted lateness over what was paid, divided in floating point
    (SQLite would divide whole amounts as integers)."""
    return Round(Cast(weighted, FloatField()) / Cast(paid, FloatField()))


def collection_forecast(*, user: AnyUser, as_of: datetime.date) -> Forecast:
    """Cash expected in the next 4, 8 and 12 weeks from the open installments (see the
    module docstring for the rule): for today a sum of the customers' stored figures
    (receivables/figures.py), else one statement over the open installments joined to
    :func:`customer_delays` (each customer's delay computed once, not per installment)."""
    customers = visible_customers(user)
    if figures.is_today(as_of):
        figures.ensure_current()
        sums = CustomerFigures.objects.filter(customer__in=customers).aggregate(
            disputed=Sum("disputed"),
            **{c: Sum(f) for c, f in zip(FORECAST_COLUMNS, STORED, strict=True)},
        )
        disputed, amounts = sums["disputed"], [sums[c] for c in FORECAST_COLUMNS]
    else:
        sql, params = forecast_by_customer_sql(customers, as_of)
        columns = ", ".join(f"SUM(x.{c})" for c in FORECAST_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT SUM(x.disputed), {columns} FROM ({sql}) x", params)  # noqa: S608
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


# The stored figures' columns of FORECAST_COLUMNS, in order.
STORED = ("expected_4w", "expected_8w", "expected_12w", "expected_later")
assert FORECAST_WEEKS == (4, 8, 12), "the stored forecast has a column per horizon"
