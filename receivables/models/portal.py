"""What a customer says from their own page (the portal) that is not a promise or a
dispute (those are :class:`PromiseToPay` and :class:`Dispute`, marked ``by_customer``):
"I have paid" (a :class:`PaymentClaim`, which holds the reminders of its invoices while
finance staff check the bank) and requests finance staff handle by hand
(:class:`CustomerRequest`: a copy of an invoice, another address for invoices)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access
from core.access import AnyUser
from core.money import MoneyField
from customers.models import Customer
from receivables.storage import PrivateStorage

# How long "I have paid" holds the reminders when the company set nothing.
PAID_HOLD_DAYS = 10


def portal_storage():
    """The private storage (no URL serves it) of the files customers upload."""
    return PrivateStorage()


class PaymentClaimQuerySet(models.QuerySet["PaymentClaim"]):
    def visible_to(self, user: AnyUser) -> PaymentClaimQuerySet:
        return self.filter(access.scope_q(user, "customer"))

    def holding_on(self, day: datetime.date) -> PaymentClaimQuerySet:
        """Claims that still hold their invoices' reminders on ``day``: not closed by
        finance staff, and ``day`` is not past their hold."""
        return self.filter(closed_at__isnull=True, hold_until__gte=day)


class PaymentClaim(models.Model):
    """ "I have paid", said by the customer on their page: the day and amount they say
    they paid, an optional proof (stored privately, served to finance staff only). The
    reminders of the invoices it names are held up to ``hold_until`` (the company's
    :attr:`CompanyProfile.portal_paid_hold_days` after it was said) or until finance
    staff close it; after that the scenario resumes where it stood."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_claims")
    invoices = models.ManyToManyField(
        "receivables.Invoice", related_name="payment_claims", verbose_name=_("invoices")
    )
    paid_on = models.DateField(_("paid on"))
    amount = MoneyField(_("amount"))
    proof = models.FileField(
        _("proof of payment"), storage=portal_storage, upload_to="portal/%Y/%m/", blank=True
    )
    hold_until = models.DateField(_("reminders held until"))
    created_at = models.DateTimeField(_("said at"), default=timezone.now, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PaymentClaimQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment the customer says was made")
        verbose_name_plural = _("payments the customers say were made")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_claim_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.amount} @ {self.paid_on}"


class CustomerRequestQuerySet(models.QuerySet["CustomerRequest"]):
    def visible_to(self, user: AnyUser) -> CustomerRequestQuerySet:
        return self.filter(access.scope_q(user, "customer"))


class CustomerRequest(models.Model):
    """A request a customer made on their page that finance staff handle by hand."""

    class Kind(models.TextChoices):
        COPY = "copy", _("Send me a copy of the invoice")
        SEND_TO = "send_to", _("Invoices should go to another address")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField(_("request"), max_length=10, choices=Kind.choices)
    invoice = models.ForeignKey(
        "receivables.Invoice",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("invoice"),
    )
    email = models.EmailField(_("email"), blank=True)
    text = models.TextField(_("details"), blank=True)
    created_at = models.DateTimeField(_("asked at"), default=timezone.now, editable=False)

    objects = CustomerRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer request")
        verbose_name_plural = _("customer requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_kind_display()}"
