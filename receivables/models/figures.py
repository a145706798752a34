"""Figures read by the pages instead of being recomputed from the ledger on every request:
kept by receivables/figures.py in the same transaction as the ledger change that moves
them, refreshed set-based when the day rolls over. They are derived data: never audited,
never edited by hand, and tests/receivables/test_figures.py recomputes every one of them
from the ledger after random sequences of operations."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.money import ZERO, MoneyField
from customers.models import Customer
from receivables.models.invoices import Invoice


class InvoiceFigures(models.Model):
    """What is still unpaid on an invoice (over its installments, as they stand) and the
    earliest due date of an installment not fully paid (empty when none): with the
    invoice's own fields they give its status on any day without reading installments.
    Every invoice and credit note has one, from its creation."""

    invoice = models.OneToOneField(
        Invoice, primary_key=True, on_delete=models.CASCADE, related_name="figures"
    )
    open_amount = MoneyField(_("left to pay"), default=ZERO)
    next_due_date = models.DateField(_("next unpaid due date"), null=True, blank=True)
    # The day whose sales it was last counted in (its issue date then): a corrected issue
    # date moves it from that day's total to the new one's.
    sales_day = models.DateField(_("counted in the sales of"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice figures")
        verbose_name_plural = _("invoice figures")
        indexes = [
            models.Index(
                fields=["next_due_date"],
                condition=Q(next_due_date__isnull=False),
                name="invoicefigures_unpaid_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.open_amount}"


class CustomerFigures(models.Model):
    """A customer's balance as of :class:`FiguresDay` (the definition:
    receivables/selectors/balances.py), with ``not_due`` net of the credit as everywhere.
    A customer without a row has nothing in the ledger."""

    customer = models.OneToOneField(
        Customer, primary_key=True, on_delete=models.CASCADE, related_name="figures"
    )
    not_due = MoneyField(_("not due"), default=ZERO)
    d1_30 = MoneyField(_("1–30 days"), default=ZERO)
    d31_60 = MoneyField(_("31–60 days"), default=ZERO)
    d61_90 = MoneyField(_("61–90 days"), default=ZERO)
    d90_plus = MoneyField(_("over 90 days"), default=ZERO)
    credit = MoneyField(_("credit"), default=ZERO)
    overdue = MoneyField(_("overdue"), default=ZERO)
    total = MoneyField(_("balance"), default=ZERO)
    # Payment behaviour over the 12 months ending on that day (receivables.kpis): what was
    # paid, the amount-weighted days late, and what was paid on time.
    paid_12m = MoneyField(_("paid in 12 months"), default=ZERO)
    late_weight_12m = models.DecimalField(
        _("amount × days late in 12 months"), max_digits=24, decimal_places=2, default=ZERO
    )
    on_time_12m = MoneyField(_("paid on time in 12 months"), default=ZERO)
    # The collection forecast from that day: open installments expected in 4, 8 and 12
    # weeks and later (due date shifted by the customer's delay), and those disputed.
    expected_4w = MoneyField(_("expected within 4 weeks"), default=ZERO)
    expected_8w = MoneyField(_("expected in weeks 5–8"), default=ZERO)
    expected_12w = MoneyField(_("expected in weeks 9–12"), default=ZERO)
    expected_later = MoneyField(_("expected later"), default=ZERO)
    disputed = MoneyField(_("disputed"), default=ZERO)

    class Meta:
        verbose_name = _("customer figures")
        verbose_name_plural = _("customer figures")
        indexes = [
            models.Index(fields=["-total", "customer"], name="customerfigures_total"),
            models.Index(fields=["-overdue", "customer"], name="customerfigures_overdue"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.total}"


class SalesDay(models.Model):
    """Net sales incl. tax of one issue date over the whole ledger (invoices less credit
    notes, cancelled ones left out): the DSO's sales windows of the staff who see every
    customer are sums of a few hundred of these rows instead of a scan of every invoice."""

    day = models.DateField(_("day"), primary_key=True)
    amount = MoneyField(_("net sales"), default=ZERO)

    class Meta:
        verbose_name = _("sales of a day")
        verbose_name_plural = _("sales of a day")

    def __str__(self) -> str:
        return f"{self.day}: {self.amount}"


class FiguresDay(models.Model):
    """The day the customers' figures were computed for (one row): ageing buckets move
    with the date, so on a new day every customer is refreshed once, set-based, before
    any page reads them."""

    as_of = models.DateField(_("as of"))

    class Meta:
        verbose_name = _("figures day")
        verbose_name_plural = _("figures day")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="figuresday_single_row")]

    def __str__(self) -> str:
        return str(self.as_of)
