"""The aged balance ("balance âgée") of any date, in one SQL statement."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.utils import timezone

from core.access import AnyUser
from core.money import ZERO, to_cents
from receivables import figures
from receivables.selectors.balances import (
    BUCKETS,
    OPEN_ITEMS_SQL,
    balance_params,
    scope_sql,
)


@dataclass(frozen=True)
class AgedBalance:
    as_of: datetime.date
    rows: list[dict]
    totals: dict[str, Decimal]


# A document cancelled on a later day than the one read still counted that day
# (``after``: the first instant after it); for today or later, a cancelled document never
# counts (cancellations are never in the future).
# Both statements give, per customer: id, customer_ref, name, the five buckets before
# credit, and the credit (the definition: receivables/selectors/balances.py).
_CURRENT_BALANCE_SQL = """
SELECT t.id, c.customer_ref, c.name,
       t.not_due, t.d1_30, t.d31_60, t.d61_90, t.d90_plus, t.credit
FROM ({open_items}) t
JOIN customers_customer c ON c.id = t.id
WHERE 1 = 1 {{scope}}
""".format(open_items=OPEN_ITEMS_SQL.format(only_v="", only_p="", only_n="", only_c=""))


_AGED_BALANCE_SQL = """
SELECT c.id, c.customer_ref, c.name,
       COALESCE(b.not_due, 0), COALESCE(b.d1_30, 0), COALESCE(b.d31_60, 0),
       COALESCE(b.d61_90, 0), COALESCE(b.d90_plus, 0),
       COALESCE(p.paid, 0) + COALESCE(n.credited, 0) - COALESCE(b.allocated, 0)
FROM customers_customer c
LEFT JOIN (
    SELECT v.customer_id,
           SUM(CASE WHEN i.due_date >= %(as_of)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS not_due,
           SUM(CASE WHEN i.due_date BETWEEN %(d30)s AND %(d1)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d1_30,
           SUM(CASE WHEN i.due_date BETWEEN %(d60)s AND %(d31)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d31_60,
           SUM(CASE WHEN i.due_date BETWEEN %(d90)s AND %(d61)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d61_90,
           SUM(CASE WHEN i.due_date <= %(d91)s
                    THEN i.amount - COALESCE(a.s, 0) ELSE 0 END) AS d90_plus,
           SUM(COALESCE(a.s, 0)) AS allocated
    FROM receivables_installment i
    JOIN receivables_invoice v ON v.id = i.invoice_id
    LEFT JOIN (
        SELECT installment_id, SUM(amount) AS s FROM receivables_allocation
        WHERE date <= %(as_of)s GROUP BY installment_id
    ) a ON a.installment_id = i.id
    WHERE (v.cancelled_at IS NULL OR v.cancelled_at >= %(after)s)
      AND v.kind = %(invoice)s AND v.issue_date <= %(as_of)s
    GROUP BY v.customer_id
) b ON b.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, SUM(amount) AS paid FROM receivables_payment
    WHERE date <= %(as_of)s AND (returned_on IS NULL OR returned_on > %(as_of)s)
    GROUP BY customer_id
) p ON p.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, SUM(amount) AS credited FROM receivables_invoice
    WHERE kind = %(credit_note)s AND (cancelled_at IS NULL OR cancelled_at >= %(after)s)
      AND issue_date <= %(as_of)s
    GROUP BY customer_id
) n ON n.customer_id = c.id
WHERE (b.customer_id IS NOT NULL OR p.customer_id IS NOT NULL OR n.customer_id IS NOT NULL)
  {scope}
"""


# Today's balances, stored (receivables/figures.py): the same columns as the statements
# above, ``not_due`` before credit.
_STORED_BALANCE_SQL = """
SELECT c.id, c.customer_ref, c.name,
       f.not_due + f.credit, f.d1_30, f.d31_60, f.d61_90, f.d90_plus, f.credit
FROM receivables_customerfigures f
JOIN customers_customer c ON c.id = f.customer_id
WHERE (f.not_due <> 0 OR f.d1_30 <> 0 OR f.d31_60 <> 0 OR f.d61_90 <> 0 OR f.d90_plus <> 0)
  {scope}
"""


def aged_balance(
    *, user: AnyUser | None, as_of: datetime.date, today: datetime.date | None = None
) -> AgedBalance:
    """The aged balance of the customers ``user`` may see, as of ``as_of``; ``user``
    None means the whole ledger (command-line use, monthly snapshots).

    One SQL statement of grouped derived tables (installments with what had been
    allocated to them by that date, payments, credit notes), joined to the customers:
    the database reads each table once, whatever the date, instead of evaluating
    correlated subqueries per customer. Written in SQL that PostgreSQL and SQLite share.

    For today it reads the stored figures (receivables/figures.py), which the services
    keep equal to the statements below. On or after today nothing is dated later
    (payments and credit notes are never dated in the future), so the open
    installments' ``amount - paid_amount`` and the credits' unallocated parts, kept by
    the allocation services, give the same figures while the database reads only the
    open items instead of the whole history.
    """
    params = balance_params(as_of)
    try:
        scope = scope_sql(user, params)
    except EmptyResultSet:  # a user with no role sees no customer
        return AgedBalance(as_of=as_of, rows=[], totals=dict.fromkeys((*BUCKETS, "total"), ZERO))
    if figures.is_today(as_of, today):
        figures.ensure_current()
        sql = _STORED_BALANCE_SQL
    elif as_of >= (today or timezone.localdate()):
        sql = _CURRENT_BALANCE_SQL
    else:
        sql = _AGED_BALANCE_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql.format(scope=scope) + "ORDER BY c.customer_ref", params)
        fetched = cursor.fetchall()
    rows = []
    for pk, ref, name, *buckets, credit in fetched:
        amounts = dict(zip(BUCKETS, (to_cents(v) for v in buckets), strict=True))
        amounts["not_due"] -= to_cents(credit)
        if not any(amounts.values()):
            continue
        amounts["total"] = sum(amounts.values(), ZERO)
        rows.append({"customer_id": pk, "customer_ref": ref, "customer_name": name} | amounts)
    totals = {k: sum((r[k] for r in rows), ZERO) for k in (*BUCKETS, "total")}
    return AgedBalance(as_of=as_of, rows=rows, totals=totals)


_STORED_OVER_LIMIT_SQL = """
SELECT c.id
FROM receivables_customerfigures f
JOIN customers_customer c ON c.id = f.customer_id
WHERE ((c.credit_limit IS NOT NULL AND f.total > c.credit_limit)
       OR (c.insured_cover IS NOT NULL AND f.total > c.insured_cover))
  {scope}
ORDER BY f.total DESC, c.name, c.id
"""

_OVER_LIMIT_SQL = """
SELECT t.id
FROM (
    SELECT cb.id, c.name, c.credit_limit, c.insured_cover,
           cb.not_due + cb.d1_30 + cb.d31_60 + cb.d61_90 + cb.d90_plus - cb.credit AS balance
    FROM ({balances}) cb
    JOIN customers_customer c ON c.id = cb.id
    WHERE c.credit_limit IS NOT NULL OR c.insured_cover IS NOT NULL
) t
WHERE (t.credit_limit IS NOT NULL AND t.balance > t.credit_limit)
   OR (t.insured_cover IS NOT NULL AND t.balance > t.insured_cover)
ORDER BY t.balance DESC, t.name, t.id
"""


def customers_over_credit_limit(*, user, today: datetime.date | None = None) -> list[int]:
    """The customers visible to ``user`` whose balance today exceeds their credit limit or
    their insured cover (strictly above, as ``Customer.exceeds_credit_limit`` says),
    largest balance first. Today's balance is the aged balance's
    open-items statement (the same figures as everywhere): the database reads the open
    items, not the whole history."""
    params = balance_params(today or timezone.localdate())
    try:
        scope = scope_sql(user, params)
    except EmptyResultSet:
        return []
    if figures.is_today(params["as_of"], today):
        figures.ensure_current()
        sql = _STORED_OVER_LIMIT_SQL.format(scope=scope)
    else:
        sql = _OVER_LIMIT_SQL.format(balances=_CURRENT_BALANCE_SQL.format(scope=scope))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


# --- Today's totals and largest balances, summed by the database ------------------------

_STORED_TOTALS_SQL = """
SELECT COALESCE(SUM(f.not_due), 0), COALESCE(SUM(f.d1_30), 0), COALESCE(SUM(f.d31_60), 0),
       COALESCE(SUM(f.d61_90), 0), COALESCE(SUM(f.d90_plus), 0)
FROM receivables_customerfigures f
JOIN customers_customer c ON c.id = f.customer_id
WHERE 1 = 1 {scope}
"""

_STORED_TOP_SQL = """
SELECT c.id, c.customer_ref, c.name, f.total, f.overdue
FROM receivables_customerfigures f
JOIN customers_customer c ON c.id = f.customer_id
WHERE f.total > 0 {scope}
ORDER BY f.total DESC, c.customer_ref
LIMIT %(limit)s
"""


def stored_totals(*, user: AnyUser | None) -> dict[str, Decimal]:
    """The TOTAL row of today's :func:`aged_balance` for ``user`` (the five buckets and
    ``total``), summed by the database over the stored figures instead of row by row."""
    params: dict[str, Any] = {}
    try:
        scope = scope_sql(user, params)
    except EmptyResultSet:
        return dict.fromkeys((*BUCKETS, "total"), ZERO)
    figures.ensure_current()
    with connection.cursor() as cursor:
        cursor.execute(_STORED_TOTALS_SQL.format(scope=scope), params)
        sums = [to_cents(v) for v in cursor.fetchone()]
    totals = dict(zip(BUCKETS, sums, strict=True))
    totals["total"] = sum(sums, ZERO)
    return totals


def stored_largest(
    *, user: AnyUser | None, limit: int
) -> list[tuple[int, str, str, Decimal, Decimal]]:
    """The ``limit`` customers ``user`` sees owing the most today (id, reference, name,
    balance, overdue), largest first, ties by reference: from the stored figures' index."""
    params: dict[str, Any] = {"limit": limit}
    try:
        scope = scope_sql(user, params)
    except EmptyResultSet:
        return []
    figures.ensure_current()
    with connection.cursor() as cursor:
        cursor.execute(_STORED_TOP_SQL.format(scope=scope), params)
        return [
            (pk, ref, name, to_cents(total), to_cents(overdue))
            for pk, ref, name, total, overdue in cursor.fetchall()
        ]
