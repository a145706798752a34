"""Reads of the ledger, computed by the database: balances (balances.py), the aged
balance of any date (aged_balance.py), invoice lists and pages (invoices.py). Callers
import from here."""

from receivables.selectors.aged_balance import (
    AgedBalance,
    aged_balance,
    customers_over_credit_limit,
)
from receivables.selectors.balances import (
    BUCKETS,
    COLUMNS,
    Balance,
    Balances,
    bucket_of,
    bucket_ranges,
    ledger_balances,
    scope_sql,
    with_balances,
)
from receivables.selectors.invoices import (
    InvoiceFilters,
    InvoicePage,
    InvoiceStatus,
    invoice_for_page,
    invoice_list,
    invoice_page,
    with_invoice_status,
)

__all__ = [
    "BUCKETS",
    "COLUMNS",
    "AgedBalance",
    "Balance",
    "Balances",
    "InvoiceFilters",
    "InvoicePage",
    "InvoiceStatus",
    "aged_balance",
    "bucket_of",
    "bucket_ranges",
    "customers_over_credit_limit",
    "invoice_for_page",
    "invoice_list",
    "invoice_page",
    "ledger_balances",
    "scope_sql",
    "with_balances",
    "with_invoice_status",
]
