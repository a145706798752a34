"""Invoices (and credit notes), their installment plans, and the one currency of the
ledger."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access, audit
from core.access import AnyUser
from core.money import DEFAULT_CURRENCY, ZERO, MoneyField
from customers.models import Customer
from receivables.models.disputes import Dispute, reminder_free_on

# The ledger keeps one currency. Amounts are summed everywhere (balances, aged balance,
# KPIs, letters); a total of euros and dollars means nothing, so every entry refuses
# another currency (services, forms, imports) and the database has the last word.
LEDGER_CURRENCY = DEFAULT_CURRENCY


def validate_ledger_currency(value: str) -> None:
    if value != LEDGER_CURRENCY:
        raise ValidationError(
            _("%(currency)s is not accepted: the ledger is kept in %(ledger)s only."),
            code="currency",
            params={"currency": value, "ledger": LEDGER_CURRENCY},
        )


class InvoiceQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> InvoiceQuerySet:
        return self.filter(access.scope_q(user, "customer"))

    def active(self) -> InvoiceQuerySet:
        """Invoices and credit notes that count (not cancelled)."""
        return self.filter(cancelled_at__isnull=True)

    def invoices(self) -> InvoiceQuerySet:
        return self.filter(kind=Invoice.Kind.INVOICE)

    def credit_notes(self) -> InvoiceQuerySet:
        return self.filter(kind=Invoice.Kind.CREDIT_NOTE)


@audit.track()
class Invoice(models.Model):
    """An invoice or a credit note ("avoir"). An invoice is paid through its installments;
    a credit note is a credit of the customer, allocated to installments like a payment."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    number = models.CharField(_("number"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices"
    )
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    amount = MoneyField(_("amount incl. tax"))
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=LEDGER_CURRENCY,
        validators=[validate_ledger_currency],
    )
    po_number = models.CharField(_("PO number"), max_length=60, blank=True)
    payment_reference = models.CharField(
        _("payment reference"),
        max_length=140,
        blank=True,
        help_text=_(
            "The reference the invoice asks the customer to quote on the transfer (e.g. an "
            "RF creditor reference), without spaces: a bank credit quoting it is matched."
        ),
    )
    pdf = models.FileField(_("PDF"), upload_to="invoices/%Y/", blank=True)
    credited_invoice = models.ForeignKey(
        "self",
        verbose_name=_("credited invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # A credit note that writes off a small balance: a ledger entry like any credit note,
    # so the history keeps what was owed and how it was settled.
    is_write_off = models.BooleanField(_("write-off"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: an import or the command line."),
    )

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-number"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")),
                name="invoice_due_after_issue",
                violation_error_message=_("The due date cannot be before the issue date."),
            ),
            models.CheckConstraint(
                condition=Q(currency=LEDGER_CURRENCY),
                name="invoice_currency_ledger",
                violation_error_message=_("Invoices are kept in EUR, the ledger's only currency."),
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "issue_date"]),
            models.Index(fields=["due_date"]),
            # The invoice list's order: its first page is read from the index.
            models.Index(fields=["-issue_date", "-number"], name="invoice_newest_first"),
            models.Index(
                fields=["payment_reference"],
                condition=~Q(payment_reference=""),
                name="invoice_payment_reference",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("receivables:invoice_detail", args=[self.pk])

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class InstallmentQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> InstallmentQuerySet:
        return self.filter(access.scope_q(user, "invoice__customer"))

    def counting(self) -> InstallmentQuerySet:
        """Installments of invoices that are not cancelled."""
        return self.filter(invoice__cancelled_at__isnull=True, invoice__kind=Invoice.Kind.INVOICE)

    def open(self) -> InstallmentQuerySet:
        return self.counting().filter(paid_amount__lt=F("amount"))

    def overdue(self, as_of) -> InstallmentQuerySet:
        return self.open().filter(due_date__lt=as_of)

    # "May this installment be reminded on that day?" is answered here, once, for the daily
    # run, the check before a delayed send and the pages that show the next step.

    def in_reminder_scope(self) -> InstallmentQuerySet:
        """What a reminder may reach at all, whatever the day: open (of a counting invoice,
        not fully paid), of a customer not exempt from reminders, on an invoice with no
        open dispute; and, for a customer paying by direct debit, only an installment a
        returned direct debit had paid: the bank will not collect it, so it is the
        customer's to pay and the scenario takes it up again."""
        # Allocation is defined beside Payment, which imports this module.
        allocations = apps.get_model("receivables", "Allocation")._default_manager
        returned = allocations.filter(
            installment=OuterRef("pk"), payment__returned_on__isnull=False
        )
        return (
            self.open()
            .filter(invoice__customer__reminders_exempt=False)
            .filter(Q(invoice__customer__direct_debit=False) | Exists(returned))
            .exclude(Exists(Dispute.objects.open().filter(invoice=OuterRef("invoice"))))
        )

    def remindable(self, *, on: datetime.date, grace_days: int | None = None):
        """The installments that may be reminded on ``on``: in the reminder scope and
        :func:`reminder_free_on` that day. ``grace_days`` defaults to the company's."""
        return self.in_reminder_scope().filter(reminder_free_on(on, grace_days=grace_days))


@audit.track()
class Installment(models.Model):
    """One due date of an invoice's payment plan ("échéance"). The parts of a plan always
    sum to the invoice total; lateness is measured per installment. ``paid_amount`` is the
    sum of its allocations, kept by the allocation services, and the database refuses any
    allocation beyond what is due."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="installments")
    sequence = models.PositiveSmallIntegerField(_("part"))
    due_date = models.DateField(_("due date"))
    amount = MoneyField(_("amount"))
    paid_amount = MoneyField(_("paid"), default=ZERO)

    objects = InstallmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["due_date", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "sequence"], name="installment_unique_part"),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="installment_amount_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                name="installment_paid_within_amount",
                violation_error_message=_("An installment cannot be paid beyond its amount."),
            ),
        ]
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self) -> str:
        return f"{self.invoice.number} #{self.sequence}"

    @property
    def amount_left(self) -> Decimal:
        return self.amount - self.paid_amount

    def days_late(self, as_of) -> int:
        return (as_of - self.due_date).days
