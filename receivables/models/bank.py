"""Lines of imported bank statements, each recorded once, with what became of it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import MoneyField
from customers.models import Customer
from receivables.models.payments import Payment


class BankTransactionQuerySet(models.QuerySet["BankTransaction"]):
    def awaiting_match(self) -> BankTransactionQuerySet:
        """Incoming credits no payment was recorded for yet: the matching queue."""
        return self.filter(
            status=BankTransaction.Status.UNMATCHED, direction=BankTransaction.Direction.CREDIT
        )

    def set_aside(self) -> BankTransactionQuerySet:
        """Credits a person set aside from the queue (not a customer payment...)."""
        return self.filter(
            status=BankTransaction.Status.IGNORED, direction=BankTransaction.Direction.CREDIT
        )

    def returns(self) -> BankTransactionQuerySet:
        """Returned direct debits and reversals, whether their payment was found or not."""
        return self.filter(Q(status=BankTransaction.Status.RETURNED) | ~Q(return_code=""))


class BankTransaction(models.Model):
    """One booked line of a bank statement. ``import_key`` is its identity (the bank's
    own reference, else a hash of its content), so a line is never imported twice,
    whatever file it comes in. ``status`` says what the import did with it."""

    class Direction(models.TextChoices):
        CREDIT = "credit", _("Credit")
        DEBIT = "debit", _("Debit")

    class Status(models.TextChoices):
        MATCHED = "matched", _("Matched")
        UNMATCHED = "unmatched", _("Unmatched")
        RETURNED = "returned", _("Returned")
        IGNORED = "ignored", _("Ignored")

    import_key = models.CharField(max_length=64, unique=True, editable=False)
    date = models.DateField(_("booking date"))
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    direction = models.CharField(_("direction"), max_length=6, choices=Direction.choices)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=100, blank=True)
    creditor_reference = models.CharField(_("creditor reference"), max_length=100, blank=True)
    remittance = models.TextField(_("remittance information"), blank=True)
    counterparty_name = models.CharField(_("counterparty"), max_length=140, blank=True)
    counterparty_iban = models.CharField(_("counterparty IBAN"), max_length=34, blank=True)
    return_code = models.CharField(_("return reason"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    status_reason = models.CharField(_("why"), max_length=255, blank=True)
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_transactions",
        help_text=_("The payment a matched credit created, or the one a return reversed."),
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_transactions",
    )
    source = models.CharField(_("file"), max_length=255, blank=True)
    # Who handled a line from the matching queue (confirmed, split, assigned or set it
    # aside), and when; empty for what the import decided alone.
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    set_aside_reason = models.CharField(_("set aside because"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = BankTransactionQuerySet.as_manager()

    class Meta:
        verbose_name = _("bank transaction")
        verbose_name_plural = _("bank transactions")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_transaction_positive"),
            # A matched credit names the payment it created, a return the one it reversed.
            models.CheckConstraint(
                condition=Q(status__in=["matched", "returned"], payment__isnull=False)
                | (~Q(status__in=["matched", "returned"]) & Q(payment__isnull=True)),
                name="bank_transaction_payment_when_matched_or_returned",
            ),
        ]
        indexes = [models.Index(fields=["status", "direction"])]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.currency} {self.counterparty_name}".strip()
