"""Disputes and promises to pay, and the day's part of "may be reminded" that they
and pauses decide."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access
from core.access import AnyUser
from core.money import MoneyField
from customers.models import Customer
from receivables.models.company import CompanyProfile
from receivables.models.portal import PaymentClaim, portal_storage


class DisputeQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> DisputeQuerySet:
        return self.filter(access.scope_q(user, "invoice__customer"))

    def open(self) -> DisputeQuerySet:
        return self.filter(resolved_at__isnull=True)


class Dispute(models.Model):
    """A dispute ("litige") on an invoice: it suspends the invoice's reminders until
    resolved."""

    class Reason(models.TextChoices):
        PRICE = "price", _("Price or quantity disagreement")
        QUALITY = "quality", _("Goods or service not compliant")
        NOT_RECEIVED = "not_received", _("Invoice or goods not received")
        PO_MISSING = "po_missing", _("Missing purchase-order number")
        ALREADY_PAID = "already_paid", _("Customer says it is paid")
        OTHER = "other", _("Other")

    invoice = models.ForeignKey(
        "receivables.Invoice", on_delete=models.CASCADE, related_name="disputes"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    description = models.TextField(_("description"), blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.TextField(_("resolution"), blank=True)
    by_customer = models.BooleanField(_("by the customer, from their page"), default=False)
    attachment = models.FileField(
        _("file"), storage=portal_storage, upload_to="portal/%Y/%m/", blank=True
    )

    objects = DisputeQuerySet.as_manager()

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(resolved_at__isnull=True),
                name="dispute_one_open_per_invoice",
                violation_error_message=_("This invoice already has an open dispute."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} — {self.get_reason_display()}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class PromiseQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> PromiseQuerySet:
        return self.filter(access.scope_q(user, "customer"))

    def pending(self) -> PromiseQuerySet:
        return self.filter(status=PromiseToPay.Status.PENDING)

    def holding_on(self, day: datetime.date, *, grace_days: int) -> PromiseQuerySet:
        """Pending promises that still hold reminders on ``day``: their promised date plus
        the grace period reaches ``day``, and they were recorded at most
        :func:`promise_max_days` plus the grace period before it (a promise dated in 2099
        does not hold for ever)."""
        return self.pending().filter(
            promised_date__gte=_grace_start(day, grace_days),
            created_at__gte=_recorded_since(day, grace_days),
        )

    def expired_on(self, day: datetime.date, *, grace_days: int) -> PromiseQuerySet:
        """Pending promises that no longer hold on ``day`` (their promised date plus the
        grace period is before it, or they were recorded too long ago): the daily run
        settles them (kept or broken)."""
        return self.pending().filter(
            Q(promised_date__lt=_grace_start(day, grace_days))
            | Q(created_at__lt=_recorded_since(day, grace_days))
        )


# How long a promise may hold reminders after it was recorded (and how far ahead it may
# be dated: receivables/bounds.py); the setting RELANCE_PROMISE_MAX_DAYS changes it.
PROMISE_MAX_DAYS = 90


def promise_max_days() -> int:
    return int(getattr(settings, "RELANCE_PROMISE_MAX_DAYS", PROMISE_MAX_DAYS))


def _grace_start(day: datetime.date, grace_days: int) -> datetime.date:
    """The earliest promised date that still holds reminders on ``day``."""
    return day - datetime.timedelta(days=grace_days)


def _recorded_since(day: datetime.date, grace_days: int) -> datetime.datetime:
    """The earliest moment a promise holding on ``day`` may have been recorded."""
    earliest = day - datetime.timedelta(days=promise_max_days() + grace_days)
    return datetime.datetime.combine(
        earliest, datetime.time.min, tzinfo=timezone.get_current_timezone()
    )


class PromiseToPay(models.Model):
    """A date and amount the customer committed to ("promesse de paiement"). It suspends
    reminders of the invoices it covers (all open ones when none is named) until the
    promised date plus a grace period; a broken promise resumes the scenario."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        KEPT = "kept", _("Kept")
        BROKEN = "broken", _("Broken")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="promises")
    invoices = models.ManyToManyField("receivables.Invoice", blank=True, related_name="promises")
    promised_date = models.DateField(_("promised date"))
    amount = MoneyField(_("amount"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    by_customer = models.BooleanField(_("by the customer, from their page"), default=False)

    objects = PromiseQuerySet.as_manager()

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-promised_date"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.amount} @ {self.promised_date}"


def reminder_free_on(day: datetime.date, *, grace_days: int | None = None) -> Q:
    """The day's part of "may be reminded", as a condition on installments: the invoice is
    issued by ``day``, the customer's reminders are not paused through ``day``, and no
    pending promise to pay covers the installment on ``day``. A promise covers the
    invoices it names (all the customer's when it names none) up to its promised date
    plus ``grace_days`` (default: the company's :attr:`CompanyProfile.promise_grace_days`),
    and no "I have paid" of the customer's page (:class:`PaymentClaim`) holds it.
    "Send now" is the one action that overrides it (a person decided)."""
    if grace_days is None:
        grace_days = CompanyProfile.get().promise_grace_days
    holding = PromiseToPay.objects.holding_on(day, grace_days=grace_days)
    return (
        Q(invoice__issue_date__lte=day)
        & (
            Q(invoice__customer__reminders_paused_until__isnull=True)
            | Q(invoice__customer__reminders_paused_until__lt=day)
        )
        & ~Exists(holding.filter(invoices=OuterRef("invoice")))
        & ~Exists(holding.filter(customer=OuterRef("invoice__customer"), invoices__isnull=True))
        & ~Q(Exists(PaymentClaim.objects.holding_on(day).filter(invoices=OuterRef("invoice"))))
    )
