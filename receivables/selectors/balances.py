"""What a customer's balance is, once, and the ORM computation of it.

**The definition.** A customer's balance as of a day D:

1. *Owed*: each installment of the customer's invoices (not credit notes) issued on or
   before D and not cancelled by the end of D (cancelled on a later day, it still
   counted then), for its amount less what had been allocated to it by D (the
   allocations dated on or before D, a release counting from its own date);
2. each falls into an age bucket by days late = D - its due date: ``not_due`` (0 or
   less), ``d1_30``, ``d31_60``, ``d61_90``, ``d90_plus`` (91 and more);
3. *credit*: the customer's payments dated on or before D and credit notes issued on
   or before D and not cancelled by the end of D, less what of them had been allocated
   by D to the installments of 1. It is shown as a negative amount in ``not_due``;
4. ``overdue`` is the sum of the four past-due buckets; ``total`` = ``not_due`` +
   ``overdue`` = owed - credit, the net balance.

Disputes, promises and pauses change no balance. Cancelling an invoice or a credit note
releases its allocations (receivables.services): each keeps its date and gets a
reversal dated the day of the cancellation, so from that day the document neither
counts nor holds anything, while any earlier day still reads it as it was. Nothing is
deleted from the ledger. :func:`ledger_balances` is that definition in plain Python over
the ledger's rows: the reference.

**Stored figures.** Today's balance of every customer is kept in
:class:`receivables.models.CustomerFigures` by the services that change the ledger
(receivables/figures.py: the open-items form below, refreshed per customer in the same
transaction and for everyone when the day rolls over); the pages read it.
tests/receivables/test_figures.py recomputes them from the ledger after random sequences
of operations.

**The computations**, each checked against the reference on random ledgers at several
dates by tests/receivables/test_balance_definition.py:

- :func:`with_balances` (ORM annotations): customer list and page, the sales rep's view,
  the worklist's rows, a letter's credit;
- :func:`receivables.selectors.aged_balance` (one SQL statement for D on or after today
  over the open items, another for past dates over the allocations): the aged balance
  page and downloads, the ``aged_balance`` command, the monthly snapshots, the KPIs'
  ``ledger_totals`` and top debtors, the dashboard totals;
- :func:`receivables.selectors.customers_over_credit_limit`: today's balance, read
  from the aged balance's open-items statement.

For D on or after today nothing is dated later (payments and credit notes are never
dated in the future, an allocation carries its source's date), so an installment's
unpaid part is simply ``amount - paid_amount`` and the credit the unallocated parts of
payments and credit notes, plus what was allocated to invoices issued after D: the fast
forms read only the open items.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.access import AnyUser
from core.money import MONEY_FIELD, ZERO
from customers.models import Customer
from receivables import figures
from receivables.models import Allocation, Installment, Invoice, Payment

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations
BUCKETS: tuple[str, ...] = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")
COLUMNS: tuple[str, ...] = ("customer_ref", "customer_name", *BUCKETS, "total")


@dataclass(frozen=True)
class Balance:
    """One customer's balance as of a day (see the module docstring); ``not_due`` is
    already net of ``credit``."""

    not_due: Decimal = ZERO
    d1_30: Decimal = ZERO
    d31_60: Decimal = ZERO
    d61_90: Decimal = ZERO
    d90_plus: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def overdue(self) -> Decimal:
        return self.d1_30 + self.d31_60 + self.d61_90 + self.d90_plus

    @property
    def total(self) -> Decimal:
        return self.not_due + self.overdue


def bucket_of(days_late: int) -> str:
    """The aged-balance column of an installment ``days_late`` days late."""
    if days_late <= 0:
        return "not_due"
    if days_late <= 30:
        return "d1_30"
    if days_late <= 60:
        return "d31_60"
    if days_late <= 90:
        return "d61_90"
    return "d90_plus"


def ledger_balances(*, customer_ids: Iterable[int], as_of: datetime.date) -> dict[int, Balance]:
    """The definition (module docstring), in plain Python over the customers' rows as
    stored: the reference every computation is tested against. It reads whole
    histories, row by row, so it is for tests and checks, not for pages."""
    ids = list(customer_ids)
    invoices = {
        row["pk"]: row
        for row in Invoice.objects.filter(customer_id__in=ids).values(
            "pk", "customer_id", "kind", "issue_date", "cancelled_at", "amount"
        )
    }

    def counts(invoice: Mapping[str, Any]) -> bool:
        cancelled = invoice["cancelled_at"]
        not_cancelled = cancelled is None or timezone.localdate(cancelled) > as_of
        return not_cancelled and invoice["issue_date"] <= as_of

    owed: dict[int, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(BUCKETS, ZERO))
    credit: dict[int, Decimal] = defaultdict(lambda: ZERO)
    installments = Installment.objects.filter(invoice_id__in=list(invoices)).values(
        "pk", "invoice_id", "due_date", "amount"
    )
    counted = {}
    for inst in installments:
        invoice = invoices[inst["invoice_id"]]
        if invoice["kind"] == Invoice.Kind.INVOICE and counts(invoice):
            counted[inst["pk"]] = inst
    allocated: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for alloc in Allocation.objects.filter(installment_id__in=list(counted)).values(
        "installment_id", "amount", "date"
    ):
        if alloc["date"] <= as_of:
            allocated[alloc["installment_id"]] += alloc["amount"]
    for pk, inst in counted.items():
        customer_id = invoices[inst["invoice_id"]]["customer_id"]
        bucket = bucket_of((as_of - inst["due_date"]).days)
        owed[customer_id][bucket] += inst["amount"] - allocated[pk]
        credit[customer_id] -= allocated[pk]
    for payment in (
        Payment.objects.filter(customer_id__in=ids)
        .counting_on(as_of)
        .values("customer_id", "amount")
    ):
        credit[payment["customer_id"]] += payment["amount"]
    for invoice in invoices.values():
        if invoice["kind"] == Invoice.Kind.CREDIT_NOTE and counts(invoice):
            credit[invoice["customer_id"]] += invoice["amount"]
    balances = {}
    for customer_id in ids:
        amounts = owed[customer_id]
        amounts["not_due"] -= credit[customer_id]
        balances[customer_id] = Balance(credit=credit[customer_id], **amounts)
    return balances


def _money(value) -> Coalesce:
    return Coalesce(value, Value(ZERO), output_field=MONEY_FIELD)


class _PerRowScalar(Coalesce):
    """A correlated scalar subquery that depends only on the outer row's primary key.

    Django would add such an expression to the GROUP BY of an aggregating query, which
    makes PostgreSQL evaluate it once per joined row; it is functionally dependent on the
    grouped primary key, so it needs no grouping and is evaluated once per output row."""

    def get_group_by_cols(self):
        return []


class _Ungrouped(ExpressionWrapper):
    """An expression built only from :class:`_PerRowScalar` parts: no GROUP BY term."""

    def get_group_by_cols(self):
        return []


def scalar_sum(qs: QuerySet, group: str, expression) -> Coalesce:
    """A correlated subquery summing ``expression`` over ``qs`` (already filtered on
    OuterRef), as one scalar value."""
    summed = (
        qs.order_by()
        .values(group)
        .annotate(s=Sum(expression, output_field=MONEY_FIELD))
        .values("s")
    )
    return _PerRowScalar(
        Subquery(summed[:1], output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD
    )


def bucket_ranges(as_of: datetime.date, prefix: str = "") -> dict[str, Q]:
    """Installment due-date filters for each aged-balance column as of ``as_of``
    (days late = as_of - due date; not due holds days late <= 0). ``prefix`` is the
    lookup path to the installment ("" from Installment itself)."""
    d = datetime.timedelta
    f = f"{prefix}due_date"
    return {
        "not_due": Q(**{f"{f}__gte": as_of}),
        "d1_30": Q(**{f"{f}__range": (as_of - d(30), as_of - d(1))}),
        "d31_60": Q(**{f"{f}__range": (as_of - d(60), as_of - d(31))}),
        "d61_90": Q(**{f"{f}__range": (as_of - d(90), as_of - d(61))}),
        "d90_plus": Q(**{f"{f}__lte": as_of - d(91)}),
    }


def end_of_day(as_of: datetime.date) -> datetime.datetime:
    """The first instant after the day ``as_of`` (local time): a document cancelled at or
    after it still counted on ``as_of``."""
    return timezone.make_aware(
        datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min)
    )


def not_cancelled_on(as_of: datetime.date, prefix: str = "") -> Q:
    """Documents not cancelled by the end of ``as_of``, seen through ``prefix``."""
    return Q(**{f"{prefix}cancelled_at__isnull": True}) | Q(
        **{f"{prefix}cancelled_at__gte": end_of_day(as_of)}
    )


def _counting(as_of: datetime.date, prefix: str) -> Q:
    """Installments of invoices (not credit notes) issued on or before ``as_of`` and not
    cancelled by its end, seen through the lookup path ``prefix``."""
    return not_cancelled_on(as_of, prefix) & Q(
        **{f"{prefix}kind": Invoice.Kind.INVOICE, f"{prefix}issue_date__lte": as_of}
    )


class Balances(TypedDict):
    """What :func:`with_balances` adds to each customer."""

    not_due: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    credit: Decimal
    overdue: Decimal
    total: Decimal


def with_balances(
    customers: QuerySet[Customer], as_of: datetime.date, *, today: datetime.date | None = None
) -> QuerySet[WithAnnotations[Customer, Balances]]:
    """Annotate customers with their aged balance as of ``as_of``: the five buckets,
    ``credit`` (payments and credit notes not allocated on that date, shown negative in
    ``not_due``), ``overdue`` and ``total`` (the net balance).

    One pass over the customers' installments (a join grouped by customer, with
    conditional sums) plus small indexed subqueries for the credits. Payments are never
    dated in the future, so for ``as_of`` on or after today an installment's unpaid part
    is simply ``amount - paid_amount``; for a past date, the allocations dated after it
    are added back, bucket by bucket.
    """
    today = today or timezone.localdate()
    if figures.is_today(as_of, today):
        return _stored_balances(customers)
    inst = "invoices__installments__"
    counting = _counting(as_of, "invoices__")
    past = as_of < today
    unpaid = F(f"{inst}amount") if past else F(f"{inst}amount") - F(f"{inst}paid_amount")
    buckets: dict[str, Any] = {
        f"_{name}": Sum(unpaid, filter=counting & cond, output_field=MONEY_FIELD, default=ZERO)
        for name, cond in bucket_ranges(as_of, inst).items()
    }
    if past:
        # What had been allocated by ``as_of`` to each bucket's installments.
        allocations = Allocation.objects.filter(
            _counting(as_of, "installment__invoice__"),
            installment__invoice__customer=OuterRef("pk"),
            date__lte=as_of,
        )
        allocated_by_bucket = {
            name: scalar_sum(allocations.filter(cond), "installment__invoice__customer", "amount")
            for name, cond in bucket_ranges(as_of, "installment__").items()
        }
        allocated: Expression = sum(allocated_by_bucket.values(), Value(ZERO))
    else:
        allocated = Sum(
            F(f"{inst}paid_amount"), filter=counting, output_field=MONEY_FIELD, default=ZERO
        )
    paid = scalar_sum(
        Payment.objects.filter(customer=OuterRef("pk")).counting_on(as_of), "customer", "amount"
    )
    credited = scalar_sum(
        Invoice.objects.credit_notes().filter(
            not_cancelled_on(as_of), customer=OuterRef("pk"), issue_date__lte=as_of
        ),
        "customer",
        "amount",
    )

    def ungrouped(expression) -> _Ungrouped:
        # Every balance is a function of the customer's primary key and of aggregates
        # over its own rows: nothing to add to the GROUP BY.
        return _Ungrouped(expression, output_field=MONEY_FIELD)

    qs = customers.annotate(**buckets)
    if past:
        qs = qs.annotate(
            **{
                f"_{name}": ungrouped(F(f"_{name}") - sub)
                for name, sub in allocated_by_bucket.items()
            }
        )
    return (
        qs.annotate(credit=ungrouped(paid + credited - allocated))
        .annotate(
            not_due=ungrouped(F("_not_due") - F("credit")),
            d1_30=ungrouped(F("_d1_30")),
            d31_60=ungrouped(F("_d31_60")),
            d61_90=ungrouped(F("_d61_90")),
            d90_plus=ungrouped(F("_d90_plus")),
        )
        .annotate(overdue=ungrouped(F("d1_30") + F("d31_60") + F("d61_90") + F("d90_plus")))
        .annotate(total=ungrouped(F("not_due") + F("overdue")))
    )


def _stored_balances(customers: QuerySet[Customer]) -> QuerySet[Any]:
    """Today's balances, read from the stored figures (receivables/figures.py) rather than
    recomputed: one join, whatever the ledger's size. A customer without a row has
    nothing in the ledger."""
    figures.ensure_current()
    return customers.annotate(
        **{name: _money(F(f"figures__{name}")) for name in (*BUCKETS, "credit", "overdue", "total")}
    )


# Today's (or a later day's) balance of every customer in open items: nothing is dated
# later than today, so an installment's unpaid part is ``amount - paid_amount`` and the
# credit the unallocated parts of payments and credit notes, plus what was allocated to
# invoices issued after the day. One row per customer (id, the five buckets before
# credit, credit); ``{only_v}``, ``{only_p}``, ``{only_n}`` and ``{only_c}`` restrict the
# invoices, payments, credit notes and customers read (empty: all), parameters from
# :func:`balance_params`. The stored figures (receivables/figures.py) and the aged
# balance of a day not yet stored both read it.
OPEN_ITEMS_SQL = """
SELECT c.id,
       COALESCE(b.not_due, 0) AS not_due, COALESCE(b.d1_30, 0) AS d1_30,
       COALESCE(b.d31_60, 0) AS d31_60, COALESCE(b.d61_90, 0) AS d61_90,
       COALESCE(b.d90_plus, 0) AS d90_plus,
       COALESCE(p.credit, 0) + COALESCE(n.credit, 0) + COALESCE(f.paid, 0) AS credit
FROM customers_customer c
LEFT JOIN (
    SELECT v.customer_id,
           SUM(CASE WHEN i.due_date >= %(as_of)s THEN i.amount - i.paid_amount ELSE 0 END)
               AS not_due,
           SUM(CASE WHEN i.due_date BETWEEN %(d30)s AND %(d1)s
                    THEN i.amount - i.paid_amount ELSE 0 END) AS d1_30,
           SUM(CASE WHEN i.due_date BETWEEN %(d60)s AND %(d31)s
                    THEN i.amount - i.paid_amount ELSE 0 END) AS d31_60,
           SUM(CASE WHEN i.due_date BETWEEN %(d90)s AND %(d61)s
                    THEN i.amount - i.paid_amount ELSE 0 END) AS d61_90,
           SUM(CASE WHEN i.due_date <= %(d91)s THEN i.amount - i.paid_amount ELSE 0 END)
               AS d90_plus
    FROM receivables_installment i
    JOIN receivables_invoice v ON v.id = i.invoice_id
    WHERE i.paid_amount < i.amount
      AND v.cancelled_at IS NULL AND v.kind = %(invoice)s AND v.issue_date <= %(as_of)s
      {only_v}
    GROUP BY v.customer_id
) b ON b.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, SUM(amount - allocated_amount) AS credit FROM receivables_payment
    WHERE allocated_amount < amount AND date <= %(as_of)s AND returned_on IS NULL
      {only_p}
    GROUP BY customer_id
) p ON p.customer_id = c.id
LEFT JOIN (
    SELECT n.customer_id,
           SUM(n.amount - COALESCE((SELECT SUM(a.amount) FROM receivables_allocation a
                                    WHERE a.credit_note_id = n.id), 0)) AS credit
    FROM receivables_invoice n
    WHERE n.kind = %(credit_note)s AND n.cancelled_at IS NULL AND n.issue_date <= %(as_of)s
      {only_n}
    GROUP BY n.customer_id
) n ON n.customer_id = c.id
LEFT JOIN (
    SELECT v.customer_id, SUM(i.paid_amount) AS paid
    FROM receivables_installment i
    JOIN receivables_invoice v ON v.id = i.invoice_id
    WHERE i.paid_amount > 0 AND v.issue_date > %(as_of)s
      AND v.cancelled_at IS NULL AND v.kind = %(invoice)s
      {only_v}
    GROUP BY v.customer_id
) f ON f.customer_id = c.id
WHERE 1 = 1 {only_c}
"""


def balance_params(as_of: datetime.date) -> dict[str, Any]:
    """The parameters of :data:`OPEN_ITEMS_SQL` (and of the aged balance's statements)
    for ``as_of``: the bucket edges, the first instant after the day, the kinds."""
    d = datetime.timedelta
    return {
        "as_of": as_of,
        "after": end_of_day(as_of),
        "d1": as_of - d(1),
        "d30": as_of - d(30),
        "d31": as_of - d(31),
        "d60": as_of - d(60),
        "d61": as_of - d(61),
        "d90": as_of - d(90),
        "d91": as_of - d(91),
        "invoice": Invoice.Kind.INVOICE,
        "credit_note": Invoice.Kind.CREDIT_NOTE,
    }


def scope_sql(user: AnyUser | None, params: dict[str, Any]) -> str:
    """``AND c.id IN (…)``: the customers ``user`` may see (None: the whole ledger), from
    the one place that decides it, its parameters added to ``params``. Raises
    EmptyResultSet for a user who may see no customer."""
    if user is None:
        return ""
    visible_sql, visible_params = (
        Customer.objects.visible_to(user).values("pk").query.sql_with_params()
    )
    # Django's SQL uses %s placeholders: name them for the dict-style query.
    for index, value in enumerate(visible_params):
        params[f"scope{index}"] = value
    parts = visible_sql.split("%s")
    visible_sql = parts[0] + "".join(f"%(scope{i})s{part}" for i, part in enumerate(parts[1:]))
    return f"AND c.id IN ({visible_sql})"
