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

# The SEPA return reasons finance staff meet most; any other code is shown as it is.
RETURN_REASONS = {
    "AC01": _("incorrect account number"),
    "AC04": _("account closed"),
    "AC06": _("account blocked"),
    "AG01": _("transaction forbidden on this account"),
    "AM04": _("insufficient funds"),
    "MD01": _("no mandate"),
    "MD06": _("refund requested by the debtor"),
    "MS02": _("refused by the debtor"),
    "MS03": _("reason not specified"),
    "RvslInd": _("reversal by the bank"),
}


def return_reason(code: str) -> str:
    """A return reason code with its meaning, in the active language."""
    label = RETURN_REASONS.get(code)
    return f"{code} {label}" if label else code


# Why the import left a line as it did. The key and its values are stored, and the
# sentence is written when it is shown, in the language of whoever reads it.
STATUS_REASONS = {
    "debit": _("an outgoing debit of the company."),
    "currency": _("in %(currency)s: the ledger is kept in %(ledger)s only."),
    "none_named": _("no open invoice named."),
    "several_named": _("several open invoices named: %(numbers)s."),
    "more_than_open": _("%(amount)s is more than the %(open)s open on %(number)s."),
    "return_not_found": _(
        "returned direct debit (%(reason)s): no single payment found to reverse."
    ),
    "returned": _("returned direct debit (%(reason)s)."),
}


def status_reason_text(code: str, params: dict[str, str]) -> str:
    """The sentence of reason ``code`` with ``params``, in the active language (a return
    reason given as ``return_code`` is translated too)."""
    values = dict(params)
    if "return_code" in values:
        values["reason"] = return_reason(values.pop("return_code"))
    return str(STATUS_REASONS[code]) % values


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
    # The same reason as a key of STATUS_REASONS and its values, to be shown translated.
    status_code = models.CharField(_("reason code"), max_length=30, blank=True)
    status_params = models.JSONField(_("reason values"), default=dict, blank=True)
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

    @property
    def reason(self) -> str:
        """Why the import left the line as it did, in the reader's language (a line
        recorded before reasons were stored as keys shows its text as written)."""
        if self.status_code in STATUS_REASONS:
            return status_reason_text(self.status_code, self.status_params)
        return self.status_reason
