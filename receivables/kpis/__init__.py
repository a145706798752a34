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
  amount allocated on or before the due date. A customer late by more than
  ``LATE_PAYER_DAYS`` (15) on average is a **late payer**.
- The **collection forecast** expects each open installment on its due date shifted by
  its customer's average days late (the same measure, per customer, rounded to whole
  days; 0 without history). An installment whose expected date has already passed is
  expected *now*, so it falls into the first four weeks. Installments of disputed
  invoices are left out of the buckets (shown apart: they will not be collected before
  the dispute is resolved); unallocated credit is money already received and is ignored.

Where: figures.py (totals, month ends, sales and DSO), behaviour.py (payment behaviour,
customer delays, forecast), report.py (top debtors, trend, the manager's page); callers
import from here.
"""

from receivables.kpis.behaviour import (
    LATE_PAYER_DAYS,
    Forecast,
    ForecastHorizon,
    PaymentBehaviour,
    collection_forecast,
    customer_delays,
    is_late_payer,
    payment_allocations,
    payment_behaviour,
    weighted_lateness,
)
from receivables.kpis.figures import (
    BEHAVIOUR_MONTHS,
    DSO_WINDOW_DAYS,
    FORECAST_WEEKS,
    OVERDUE_BUCKETS,
    TENTH,
    TOP_DEBTORS,
    TREND_MONTHS,
    WEIGHT_FIELD,
    LedgerTotals,
    days_sales_outstanding,
    dso_from,
    ledger_totals,
    month_end,
    month_ends,
    net_sales,
    net_sales_at,
    ratio,
    sees_whole_ledger,
)
from receivables.kpis.report import (
    Debtor,
    ManagerKpis,
    TrendPoint,
    manager_kpis,
    month_end_balances,
    outstanding_trend,
    top_debtors,
)

__all__ = [
    "BEHAVIOUR_MONTHS",
    "DSO_WINDOW_DAYS",
    "FORECAST_WEEKS",
    "LATE_PAYER_DAYS",
    "OVERDUE_BUCKETS",
    "TENTH",
    "TOP_DEBTORS",
    "TREND_MONTHS",
    "WEIGHT_FIELD",
    "Debtor",
    "Forecast",
    "ForecastHorizon",
    "LedgerTotals",
    "ManagerKpis",
    "PaymentBehaviour",
    "TrendPoint",
    "collection_forecast",
    "customer_delays",
    "days_sales_outstanding",
    "dso_from",
    "is_late_payer",
    "ledger_totals",
    "manager_kpis",
    "month_end",
    "month_end_balances",
    "month_ends",
    "net_sales",
    "net_sales_at",
    "outstanding_trend",
    "payment_allocations",
    "payment_behaviour",
    "ratio",
    "sees_whole_ledger",
    "top_debtors",
    "weighted_lateness",
]
