"""The stored figures (receivables/models/figures.py): kept by the services that change
the ledger, in their own transaction, and refreshed set-based when the day rolls over.

**Writing.** Every primitive of the ledger (receivables/services/invoices.py, ledger.py and the
corrections) ends with :func:`changed`, naming the customers and invoices it touched.
Inside :func:`batch` (every public service, every import) the names are collected and
refreshed once when the outermost batch ends, still inside its transaction: an import of
10,000 rows refreshes its customers in two statements, not 10,000 times. Outside a batch
:func:`changed` refreshes at once. A refresh recomputes the named rows from the ledger
(one statement for the invoices, one for the customers), so it is right whatever the
change was: nothing is incremented, nothing can drift.

**The day.** Ageing buckets move with the date: when :class:`FiguresDay` is not today,
every customer is refreshed in one statement, by the daily schedule
(``receivables.tasks.figures_roll_over``, just after midnight) or else by the first change
or the first read of the day (:func:`ensure_current`, called by every reader).

**Concurrency** (PostgreSQL). A refresh reads the ledger as committed when its statement
starts; two transactions refreshing the same customer could each miss the other's
change. So a refresh first takes a transaction-level advisory lock per customer (in id
order), then computes in a new statement, which sees everything committed before the lock
was granted; the roll-over of every customer takes the lock exclusive over all of them.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from receivables.models import Invoice
from receivables.models.figures import CustomerFigures, FiguresDay, InvoiceFigures, SalesDay
from receivables.selectors.balances import OPEN_ITEMS_SQL, balance_params

# Advisory lock keys: (FIGURES_LOCK_CLASS, customer id) per customer; (FIGURES_ALL, 0),
# shared by every per-customer refresh and exclusive for the day's roll-over.
FIGURES_LOCK_CLASS = 0x464947  # "FIG"
FIGURES_ALL = 0x464941  # "FIA"
SALES_LOCK_CLASS = 0x464953  # "FIS": (class, day's ordinal) per day of sales


@dataclass
class _Pending:
    customers: set[int] = field(default_factory=set)
    invoices: set[int] = field(default_factory=set)


_pending: ContextVar[_Pending | None] = ContextVar("figures_pending", default=None)


def changed(*, customers: Iterable[int] = (), invoices: Iterable[int] = ()) -> None:
    """The figures of these customers and invoices (ids) no longer hold: refreshed at the
    end of the current :func:`batch`, or now when there is none."""
    pending = _pending.get()
    if pending is not None:
        pending.customers.update(customers)
        pending.invoices.update(invoices)
        return
    refresh(customers=customers, invoices=invoices)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Collect :func:`changed` inside; refresh once when the outermost batch ends
    without an error, inside a transaction (the caller's, if any)."""
    if _pending.get() is not None:
        yield
        return
    pending = _Pending()
    token = _pending.set(pending)
    try:
        with transaction.atomic():
            yield
            _pending.reset(token)
            refresh(customers=pending.customers, invoices=pending.invoices)
    finally:
        if _pending.get() is pending:
            _pending.reset(token)


def batched[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    """A service in one transaction whose figure changes are refreshed once, at its end."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with batch():
            return function(*args, **kwargs)

    return wrapper


def refresh(*, customers: Iterable[int] = (), invoices: Iterable[int] = ()) -> None:
    """Recompute the stored figures of these invoices and customers from the ledger."""
    invoice_ids = sorted(set(invoices))
    customer_ids = sorted(set(customers))
    if not invoice_ids and not customer_ids:
        return
    today = timezone.localdate()
    with transaction.atomic():
        if invoice_ids:
            _refresh_invoices(invoice_ids)
        if not customer_ids:
            return
        if not FiguresDay.objects.filter(pk=1, as_of=today).exists():
            # The first change of a new day: every customer. These ones again below: a
            # roll-over another process committed first could not see this change.
            roll_over(today)
        _lock(customer_ids)
        _refresh_customers(customer_ids, today)
        _refresh_kpis(customer_ids, today)


def is_today(as_of: datetime.date, today: datetime.date | None = None) -> bool:
    """Whether figures as of ``as_of`` are the stored ones: today as the clock says (and
    as the caller says, when it names its today)."""
    real_today = timezone.localdate()
    return as_of == real_today and (today is None or today == real_today)


def ensure_current() -> datetime.date:
    """Make sure the customers' figures are today's (see the module docstring); returns
    today. One primary-key read when they are."""
    today = timezone.localdate()
    if FiguresDay.objects.filter(pk=1, as_of=today).exists():
        return today
    roll_over(today)
    return today


def roll_over(today: datetime.date | None = None) -> None:
    """Refresh every customer's figures for ``today`` (default: the local date), set-based,
    unless another process has just done it."""
    today = today or timezone.localdate()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [FIGURES_ALL])
            if FiguresDay.objects.filter(pk=1, as_of=today).exists():
                return
        _refresh_customers(None, today)
        _refresh_kpis(None, today)
        FiguresDay.objects.update_or_create(pk=1, defaults={"as_of": today})


def refresh_all() -> None:
    """Recompute every stored figure (after a bulk load that bypassed the services, such
    as the benchmark's generator, or to repair)."""
    with transaction.atomic():
        _refresh_invoices(None)
        FiguresDay.objects.filter(pk=1).delete()
        roll_over()


def _lock(customer_ids: list[int]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [FIGURES_ALL])
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, s.id) FROM (SELECT DISTINCT unnest(%s::int[]) AS id"
            " ORDER BY id) s",
            [FIGURES_LOCK_CLASS, customer_ids],
        )


def _in(column: str, ids: Sequence[object] | None, params: dict[str, Any], prefix: str) -> str:
    """``AND column IN (…)`` for ``ids`` (None: no restriction), parameters added."""
    if ids is None:
        return ""
    names = []
    for index, value in enumerate(ids):
        params[f"{prefix}{index}"] = value
        names.append(f"%({prefix}{index})s")
    return f" AND {column} IN ({', '.join(names)})"


_INVOICES_SQL = """
INSERT INTO {figures} (invoice_id, open_amount, next_due_date, sales_day)
SELECT v.id,
       COALESCE(SUM(i.amount - i.paid_amount), 0),
       MIN(CASE WHEN i.paid_amount < i.amount THEN i.due_date END),
       v.issue_date
FROM receivables_invoice v
LEFT JOIN receivables_installment i ON i.invoice_id = v.id
WHERE 1 = 1 {only}
GROUP BY v.id, v.issue_date
ON CONFLICT (invoice_id) DO UPDATE
SET open_amount = excluded.open_amount, next_due_date = excluded.next_due_date,
    sales_day = excluded.sales_day
"""

# A day's net sales, from the invoices issued that day (the definition:
# receivables.kpis.net_sales_at).
_SALES_SQL = """
INSERT INTO {sales} (day, amount)
SELECT issue_date,
       SUM(CASE WHEN kind = %(credit_note)s THEN -amount ELSE amount END)
FROM receivables_invoice
WHERE cancelled_at IS NULL {only}
GROUP BY issue_date
"""


def _refresh_invoices(ids: list[int] | None) -> None:
    """The invoices' figures, then the sales of the days they were and are counted in."""
    params: dict[str, Any] = {}
    only = _in("v.id", ids, params, "v")
    sql = _INVOICES_SQL.format(figures=InvoiceFigures._meta.db_table, only=only)
    if ids is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        _refresh_sales(None)
        return
    days: set[datetime.date] = {
        day
        for day in InvoiceFigures.objects.filter(invoice_id__in=ids).values_list(
            "sales_day", flat=True
        )
        if day is not None
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    days.update(Invoice.objects.filter(pk__in=ids).values_list("issue_date", flat=True))
    _refresh_sales(sorted(days))


def _refresh_sales(days: list[datetime.date] | None) -> None:
    if days is not None and connection.vendor == "postgresql":
        # As for a customer: wait for whoever is changing these days, then read afresh.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, s.d) FROM (SELECT DISTINCT unnest(%s::int[])"
                " AS d ORDER BY d) s",
                [SALES_LOCK_CLASS, [day.toordinal() for day in days]],
            )
    sales = SalesDay.objects.all() if days is None else SalesDay.objects.filter(day__in=days)
    sales.delete()
    params: dict[str, Any] = {"credit_note": Invoice.Kind.CREDIT_NOTE}
    only = _in("issue_date", days, params, "d")
    with connection.cursor() as cursor:
        cursor.execute(_SALES_SQL.format(sales=SalesDay._meta.db_table, only=only), params)


# Today's balance of the customers (the open-items form of the definition,
# receivables/selectors/balances.py), stored with the figures' totals. The customer
# filter sits inside each derived table so that refreshing one customer reads only that
# customer's rows.
_CUSTOMERS_SQL = """
INSERT INTO {figures}
    (customer_id, not_due, d1_30, d31_60, d61_90, d90_plus, credit, overdue, total,
     {kpi_columns})
SELECT t.id, t.not_due - t.credit, t.d1_30, t.d31_60, t.d61_90, t.d90_plus, t.credit,
       t.d1_30 + t.d31_60 + t.d61_90 + t.d90_plus,
       t.not_due - t.credit + t.d1_30 + t.d31_60 + t.d61_90 + t.d90_plus,
       {kpi_zeros}
FROM ({open_items}) t
WHERE 1 = 1
ON CONFLICT (customer_id) DO UPDATE
SET not_due = excluded.not_due, d1_30 = excluded.d1_30, d31_60 = excluded.d31_60,
    d61_90 = excluded.d61_90, d90_plus = excluded.d90_plus, credit = excluded.credit,
    overdue = excluded.overdue, total = excluded.total
"""


def _refresh_customers(ids: list[int] | None, today: datetime.date) -> None:
    params = balance_params(today)
    open_items = OPEN_ITEMS_SQL.format(
        only_v=_in("v.customer_id", ids, params, "c"),
        only_p=_in("customer_id", ids, params, "c"),
        only_n=_in("n.customer_id", ids, params, "c"),
        only_c=_in("c.id", ids, params, "c"),
    )
    sql = _CUSTOMERS_SQL.format(
        figures=CustomerFigures._meta.db_table,
        open_items=open_items,
        # Set by _refresh_kpis right after; a new row starts at zero.
        kpi_columns=", ".join(KPI_COLUMNS),
        kpi_zeros=", ".join("0" for _column in KPI_COLUMNS),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


KPI_COLUMNS = (
    "paid_12m",
    "late_weight_12m",
    "on_time_12m",
    "disputed",
    "expected_4w",
    "expected_8w",
    "expected_12w",
    "expected_later",
)


def _refresh_kpis(ids: list[int] | None, today: datetime.date) -> None:
    """The customers' payment behaviour and collection forecast as of ``today`` (the
    definitions: receivables/kpis/behaviour.py, whose queries this reuses): reset, then
    set from one grouped statement each, the forecast reading the delays just stored."""
    from receivables.kpis import behaviour

    table = CustomerFigures._meta.db_table
    rows = CustomerFigures.objects.all()
    if ids is not None:
        rows = rows.filter(customer_id__in=ids)
    # Ids, not a queryset: the invoices' own column is filtered, with no join to the
    # customers that the planner could misjudge (an import's thousands of customers
    # were once joined row by row to every allocation of the year).
    customers = ids
    rows.update(**dict.fromkeys(KPI_COLUMNS, 0))
    sums_sql, sums_params = behaviour.behaviour_sums(customers, today).query.sql_with_params()
    delays: tuple[str, list] = (
        "SELECT customer_id, ROUND(CAST(late_weight_12m AS FLOAT) / CAST(paid_12m AS FLOAT))"  # noqa: S608
        f" AS delay FROM {table} WHERE paid_12m > 0",
        [],
    )
    forecast_sql, forecast_params = behaviour.forecast_by_customer_sql(
        customers, today, delays=delays
    )
    stored = ", ".join(
        f"{column} = COALESCE(x.{name}, 0)"
        for column, name in zip(behaviour.STORED, behaviour.FORECAST_COLUMNS, strict=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET paid_12m = COALESCE(x.paid, 0),"  # noqa: S608
            " late_weight_12m = COALESCE(x.weighted, 0), on_time_12m = COALESCE(x.on_time, 0)"
            f" FROM ({sums_sql}) x"
            f" WHERE {table}.customer_id = x.customer_id",
            sums_params,
        )
        cursor.execute(
            f"UPDATE {table} SET disputed = COALESCE(x.disputed, 0), {stored}"  # noqa: S608
            f" FROM ({forecast_sql}) x WHERE {table}.customer_id = x.customer_id",
            forecast_params,
        )
