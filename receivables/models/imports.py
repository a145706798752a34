"""What an accounting import remembers of each line it read, so a re-import is harmless."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from receivables.models.invoices import Invoice
from receivables.models.payments import Payment


class FecLine(models.Model):
    """One customer-account line of a FEC already imported: ``key`` is its stable
    identity in the books (journal, entry number, piece, account and rank), the row it
    became is an invoice, a credit note (an ``Invoice`` too) or a payment."""

    key = models.CharField(max_length=64, unique=True, editable=False)
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="fec_line"
    )
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="fec_line"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("imported FEC line")
        verbose_name_plural = _("imported FEC lines")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(invoice__isnull=True) ^ models.Q(payment__isnull=True),
                name="fec_line_one_target",
            ),
        ]

    def __str__(self) -> str:
        return self.key
