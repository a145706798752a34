"""The floors: the least work that gives the same answer as a hot path, written by hand.

- the aged balance's totals as one bare SQL aggregate (the open items for today, the
  allocations up to the day for a past date), optionally for one sales rep;
- the daily escalation decision as one SQL statement selecting the installments due for
  the scenario's first step (on the generated ledger nothing has been reminded yet, so
  every due installment takes the first step);
- a minimal Django view: one indexed query, a small template, the whole middleware
  stack (mounted by benchmarks/urls.py).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines

BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")

_REP_INVOICES = (
    " AND v.customer_id IN (SELECT id FROM customers_customer WHERE sales_rep_id = %(rep)s)"
)
_REP_CUSTOMERS = (
    " AND customer_id IN (SELECT id FROM customers_customer WHERE sales_rep_id = %(rep)s)"
)

_BUCKET_SUMS = """
    SUM(CASE WHEN i.due_date >= %(as_of)s THEN {left} ELSE 0 END),
    SUM(CASE WHEN i.due_date BETWEEN %(as_of)s - 30 AND %(as_of)s - 1 THEN {left} ELSE 0 END),
    SUM(CASE WHEN i.due_date BETWEEN %(as_of)s - 60 AND %(as_of)s - 31 THEN {left} ELSE 0 END),
    SUM(CASE WHEN i.due_date BETWEEN %(as_of)s - 90 AND %(as_of)s - 61 THEN {left} ELSE 0 END),
    SUM(CASE WHEN i.due_date <= %(as_of)s - 91 THEN {left} ELSE 0 END)
"""

# Today: what is open now, less the unallocated credits (and what was paid on invoices
# issued later, nothing on the generated ledger).
_TODAY_SQL = """
SELECT {buckets},
  (SELECT COALESCE(SUM(amount - allocated_amount), 0) FROM receivables_payment
    WHERE allocated_amount < amount AND date <= %(as_of)s AND returned_on IS NULL {rep_c})
  + (SELECT COALESCE(SUM(v.amount), 0) - COALESCE((SELECT SUM(a.amount)
       FROM receivables_allocation a JOIN receivables_invoice v ON v.id = a.credit_note_id
       WHERE v.cancelled_at IS NULL {rep_v}), 0)
     FROM receivables_invoice v
     WHERE v.kind = 'credit_note' AND v.cancelled_at IS NULL AND v.issue_date <= %(as_of)s {rep_v})
  + (SELECT COALESCE(SUM(i.paid_amount), 0) FROM receivables_installment i
     JOIN receivables_invoice v ON v.id = i.invoice_id
     WHERE v.kind = 'invoice' AND v.cancelled_at IS NULL AND v.issue_date > %(as_of)s {rep_v})
FROM receivables_installment i JOIN receivables_invoice v ON v.id = i.invoice_id
WHERE i.paid_amount < i.amount AND v.kind = 'invoice' AND v.cancelled_at IS NULL
  AND v.issue_date <= %(as_of)s {rep_v}
"""

# A past day: every installment counting that day, less what had been allocated to it by
# then; the credit is every payment and credit note of that day less those allocations.
_PAST_SQL = """
SELECT {buckets},
  (SELECT COALESCE(SUM(amount), 0) FROM receivables_payment
    WHERE date <= %(as_of)s AND (returned_on IS NULL OR returned_on > %(as_of)s) {rep_c})
  + (SELECT COALESCE(SUM(v.amount), 0) FROM receivables_invoice v
     WHERE v.kind = 'credit_note' AND (v.cancelled_at IS NULL OR v.cancelled_at >= %(after)s)
       AND v.issue_date <= %(as_of)s {rep_v})
  - SUM(COALESCE(a.s, 0))
FROM receivables_installment i JOIN receivables_invoice v ON v.id = i.invoice_id
LEFT JOIN (SELECT installment_id, SUM(amount) AS s FROM receivables_allocation
           WHERE date <= %(as_of)s GROUP BY installment_id) a ON a.installment_id = i.id
WHERE v.kind = 'invoice' AND (v.cancelled_at IS NULL OR v.cancelled_at >= %(after)s)
  AND v.issue_date <= %(as_of)s {rep_v}
"""


def aged_balance_totals(*, as_of: datetime.date, today: datetime.date, rep_id: int | None = None):
    """The aged balance's totals per bucket and in all (``not_due`` net of the credit),
    in one statement."""
    from receivables.selectors.balances import end_of_day

    current = as_of >= today
    sql = _TODAY_SQL if current else _PAST_SQL
    left = "i.amount - i.paid_amount" if current else "i.amount - COALESCE(a.s, 0)"
    sql = sql.format(
        buckets=_BUCKET_SUMS.format(left=left),
        rep_v=_REP_INVOICES if rep_id else "",
        rep_c=_REP_CUSTOMERS if rep_id else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"as_of": as_of, "after": end_of_day(as_of), "rep": rep_id})
        *buckets, credit = cursor.fetchone()
    totals: dict[str, Decimal] = {k: Decimal(v or 0) for k, v in zip(BUCKETS, buckets, strict=True)}
    totals["not_due"] -= Decimal(credit or 0)
    totals["total"] = sum(totals.values(), Decimal(0))
    return totals


# The installments the run would remind on ``day`` at the first step: the reminder scope
# (open, customer neither exempt nor paying by direct debit unless returned, no open
# dispute), free that day (issued, not paused, no pending promise holding), due for the
# step, not reminded yet, and the customer's total at least the step's minimum.
_DUE_FOR_STEP_SQL = """
SELECT {select} FROM (
  SELECT v.customer_id, i.amount - i.paid_amount AS left_amount,
         SUM(i.amount - i.paid_amount) OVER (PARTITION BY v.customer_id) AS customer_total
  FROM receivables_installment i
  JOIN receivables_invoice v ON v.id = i.invoice_id
  JOIN customers_customer c ON c.id = v.customer_id
  WHERE i.paid_amount < i.amount AND v.kind = 'invoice' AND v.cancelled_at IS NULL
    AND v.issue_date <= %(day)s AND i.due_date <= %(due_by)s
    AND NOT c.reminders_exempt
    AND (c.reminders_paused_until IS NULL OR c.reminders_paused_until < %(day)s)
    AND (NOT c.direct_debit OR EXISTS (
          SELECT 1 FROM receivables_allocation a JOIN receivables_payment p ON p.id = a.payment_id
          WHERE a.installment_id = i.id AND p.returned_on IS NOT NULL))
    AND NOT EXISTS (SELECT 1 FROM receivables_dispute d
                    WHERE d.invoice_id = v.id AND d.resolved_at IS NULL)
    AND NOT EXISTS (
      SELECT 1 FROM receivables_promisetopay_invoices pi
      JOIN receivables_promisetopay p ON p.id = pi.promisetopay_id
      WHERE pi.invoice_id = v.id AND p.status = 'pending' AND p.promised_date >= %(grace_start)s)
    AND NOT EXISTS (
      SELECT 1 FROM receivables_promisetopay p
      WHERE p.customer_id = v.customer_id AND p.status = 'pending'
        AND p.promised_date >= %(grace_start)s
        AND NOT EXISTS (SELECT 1 FROM receivables_promisetopay_invoices pi
                        WHERE pi.promisetopay_id = p.id))
    AND NOT EXISTS (SELECT 1 FROM reminders_reminderitem r
                    WHERE r.installment_id = i.id AND r.active)
) due
WHERE customer_total >= %(min_amount)s
"""


def _first_step() -> tuple[int, Decimal]:
    from reminders.models import ScenarioStep

    step = ScenarioStep.objects.filter(scenario__is_default=True).order_by("position").first()
    if step is None:
        raise RuntimeError("The default scenario has no step.")
    return step.offset_days, step.min_amount


def _due_params(day: datetime.date) -> dict[str, Any]:
    from receivables.models import CompanyProfile

    offset, min_amount = _first_step()
    grace = CompanyProfile.get().promise_grace_days
    return {
        "day": day,
        "due_by": day - datetime.timedelta(days=offset),
        "grace_start": day - datetime.timedelta(days=grace),
        "min_amount": min_amount,
    }


def due_for_first_step(day: datetime.date) -> tuple[int, Decimal]:
    """(how many installments, their amount left) due for the first step on ``day``."""
    sql = _DUE_FOR_STEP_SQL.format(select="count(*), COALESCE(SUM(left_amount), 0)")
    with connection.cursor() as cursor:
        cursor.execute(sql, _due_params(day))
        count, total = cursor.fetchone()
    return count, Decimal(total)


def customers_due(day: datetime.date, limit: int) -> list[int]:
    """The first ``limit`` customers (by id) who have something due for the first step."""
    sql = _DUE_FOR_STEP_SQL.format(select="DISTINCT customer_id") + " ORDER BY 1 LIMIT %(limit)s"
    with connection.cursor() as cursor:
        cursor.execute(sql, _due_params(day) | {"limit": limit})
        return [row[0] for row in cursor.fetchall()]


# --- the minimal view -------------------------------------------------------------------

_TEMPLATE = """<!doctype html><html lang="{{ LANGUAGE_CODE }}"><head><title>{{ customer.name }}
</title></head><body><h1>{{ customer.name }}</h1><p>{{ customer.customer_ref }} —
{{ customer.city }}</p><p>{{ user.get_username }}</p></body></html>"""


def floor_view(request: HttpRequest) -> HttpResponse:
    """One indexed query (a customer by primary key) and a small template, rendered with
    the request's context processors, behind the project's whole middleware stack."""
    from customers.models import Customer

    customer = Customer.objects.only("name", "customer_ref", "city").get(
        pk=int(request.GET.get("pk", "1"))
    )
    template = engines["django"].from_string(_TEMPLATE)
    return HttpResponse(template.render({"customer": customer}, request))
