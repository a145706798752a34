"""Monthly aged-balance snapshots: immutable once taken."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access
from core.access import AnyUser
from core.money import ZERO, MoneyField
from customers.models import Customer


class AgedBalanceSnapshotQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> AgedBalanceSnapshotQuerySet:
        """Snapshots cover the whole ledger, so only those who may export see them."""
        return self if access.may(user, access.Action.EXPORT) else self.none()

    def done(self) -> AgedBalanceSnapshotQuerySet:
        return self.filter(status=AgedBalanceSnapshot.Status.DONE)


class AgedBalanceSnapshot(models.Model):
    """The aged balance of the whole ledger frozen at a month end, the figures the
    accounts and the auditors work from: taken by the monthly schedule (``created_by``
    empty) or on request for a past month end. Once ``done`` it never changes, even if
    a payment is later recorded with an earlier date; receivables/snapshots.py writes it
    and refuses any update after that."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("as of"), unique=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: taken by the monthly schedule."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.TextField(_("error"), blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    customer_count = models.PositiveIntegerField(_("customers"), default=0)
    not_due = MoneyField(_("not due"), default=ZERO)
    d1_30 = MoneyField(_("1–30 days"), default=ZERO)
    d31_60 = MoneyField(_("31–60 days"), default=ZERO)
    d61_90 = MoneyField(_("61–90 days"), default=ZERO)
    d90_plus = MoneyField(_("over 90 days"), default=ZERO)
    total = MoneyField(_("total"), default=ZERO)

    objects = AgedBalanceSnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("aged-balance snapshot")
        verbose_name_plural = _("aged-balance snapshots")
        ordering = ["-as_of"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="snapshot_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(progress=100, completed_at__isnull=False),
                name="snapshot_done_is_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.get_status_display()})"

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def is_finished(self) -> bool:
        """Done or failed: nothing more will happen without a new request."""
        return self.status in (self.Status.DONE, self.Status.FAILED)


class AgedBalanceSnapshotRow(models.Model):
    """One customer's line of a snapshot. The reference and name are copied, so the
    snapshot reads the same after a customer is renamed or deleted."""

    snapshot = models.ForeignKey(AgedBalanceSnapshot, on_delete=models.CASCADE, related_name="rows")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer_ref = models.CharField(_("accounting reference"), max_length=40)
    customer_name = models.CharField(_("legal name"), max_length=200)
    not_due = MoneyField(_("not due"))
    d1_30 = MoneyField(_("1–30 days"))
    d31_60 = MoneyField(_("31–60 days"))
    d61_90 = MoneyField(_("61–90 days"))
    d90_plus = MoneyField(_("over 90 days"))
    total = MoneyField(_("total"))

    class Meta:
        verbose_name = _("aged-balance snapshot row")
        verbose_name_plural = _("aged-balance snapshot rows")
        ordering = ["snapshot", "customer_ref"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "customer_ref"], name="snapshot_row_unique_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot.as_of} {self.customer_ref}"
