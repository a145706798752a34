"""The log of the customer's page: every visit and action, with its time and address."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class PortalVisitQuerySet(models.QuerySet["PortalVisit"]):
    def from_address_since(self, ip: str | None, since: datetime.datetime) -> PortalVisitQuerySet:
        """An address's requests since ``since`` (those without an address count together)."""
        where = {"ip": ip} if ip else {"ip__isnull": True}
        return self.filter(at__gte=since, **where)


class PortalVisit(models.Model):
    """One request to the customer's page: when, from which address, what (a visit, a
    download, an action) and how it ended. ``customer`` is empty when the link opened
    nothing (unknown, altered, expired or revoked), so guessing is visible too, and the
    rate limit counts every request of an address."""

    class Outcome(models.TextChoices):
        OK = "ok", _("Done")
        REFUSED = "refused", _("Refused (bad input)")
        INVALID = "invalid", _("Link not valid")
        LIMITED = "limited", _("Too many requests")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(_("action"), max_length=20)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)

    objects = PortalVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit of a customer's page")
        verbose_name_plural = _("visits of customers' pages")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["ip", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.ip} {self.action} {self.outcome}"
