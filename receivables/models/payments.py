"""Payments and their allocations to installments ("lettrage")."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access, audit
from core.access import AnyUser
from core.money import ZERO, MoneyField
from customers.models import Customer
from receivables.models.invoices import Installment, Invoice


class PaymentQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> PaymentQuerySet:
        return self.filter(access.scope_q(user, "customer"))

    def counting_on(self, as_of: datetime.date) -> PaymentQuerySet:
        """Payments that count on ``as_of``: received by then and not returned by then."""
        return self.filter(date__lte=as_of).filter(
            Q(returned_on__isnull=True) | Q(returned_on__gt=as_of)
        )


@audit.track()
class Payment(models.Model):
    """Money received from a customer ("règlement"), allocated to installments
    ("lettrage"); what is not allocated is the customer's credit."""

    class Method(models.TextChoices):
        TRANSFER = "transfer", _("Bank transfer")
        CHEQUE = "cheque", _("Cheque")
        CARD = "card", _("Card")
        DIRECT_DEBIT = "direct_debit", _("Direct debit")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="payments"
    )
    date = models.DateField(_("date"))
    amount = MoneyField(_("amount"))
    allocated_amount = MoneyField(_("allocated"), default=ZERO)
    method = models.CharField(
        _("method"), max_length=12, choices=Method.choices, default=Method.TRANSFER
    )
    reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    # A direct debit the customer's bank sent back (a SEPA return): from that day the
    # payment counts for nothing and its allocations are released (services.payment_return).
    returned_on = models.DateField(_("returned on"), null=True, blank=True, editable=False)
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

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(allocated_amount__gte=0) & Q(allocated_amount__lte=F("amount")),
                name="payment_allocated_within_amount",
                violation_error_message=_("A payment cannot be allocated beyond its amount."),
            ),
        ]
        indexes = [models.Index(fields=["customer", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.reference}".strip()

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated_amount


class AllocationQuerySet(models.QuerySet["Allocation"]):
    def live(self) -> AllocationQuerySet:
        """Allocations in force now: neither released nor a release."""
        return self.filter(reverses__isnull=True, reversal__isnull=True)


@audit.track()
class Allocation(models.Model):
    """Part of a payment or of a credit note applied to one installment ("lettrage").
    ``date`` is the credit's own date (payment date or credit-note issue date), so the
    ledger can be read as of any past date.

    An allocation is never deleted: releasing it (an invoice or a credit note cancelled,
    a payment re-allocated) adds its *reversal*, the same amount negated, dated the day of
    the release and pointing to it through ``reverses``. Summed up to any date, the rows
    say what was allocated then."""

    installment = models.ForeignKey(
        Installment, on_delete=models.CASCADE, related_name="allocations"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations"
    )
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations_made"
    )
    amount = MoneyField(_("amount"))
    date = models.DateField(_("date"))
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AllocationQuerySet.as_manager()

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["date", "pk"]
        constraints = [
            # Positive, or the negative reversal of an earlier allocation.
            models.CheckConstraint(
                condition=Q(amount__gt=0, reverses__isnull=True)
                | Q(amount__lt=0, reverses__isnull=False),
                name="allocation_amount_signed",
            ),
            models.CheckConstraint(
                condition=(Q(payment__isnull=False) & Q(credit_note__isnull=True))
                | (Q(payment__isnull=True) & Q(credit_note__isnull=False)),
                name="allocation_one_source",
            ),
        ]
        indexes = [models.Index(fields=["installment", "date"])]

    def __str__(self) -> str:
        return f"{self.amount} → {self.installment}"
