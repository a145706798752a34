"""The creditor company (its identity, bank details and settings) and the ECB reference
rates that late interest reads."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import audit
from core.money import MoneyField
from customers.validators import validate_bic, validate_iban, validate_siren, validate_vat_number


@audit.track()
class CompanyProfile(models.Model):
    """The creditor: its identity, letterhead, legal mentions and bank details, and the
    rules of its ledger (the contractual late-interest rate, the grace after a promise to
    pay). Printed on every reminder, letter, recovery file and snapshot. One row, edited
    by administrators; read it with :meth:`get`."""

    name = models.CharField(_("legal name"), max_length=200, default="Relance demo SAS")
    legal_form = models.CharField(_("legal form and capital"), max_length=200, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, validators=[validate_siren])
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[validate_vat_number]
    )
    rcs = models.CharField(_("trade register (RCS)"), max_length=100, blank=True)
    email = models.EmailField(_("accounts receivable email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # Printed on every formal notice: a wrong digit sends the customer's money elsewhere.
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validate_bic])
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    signatory_name = models.CharField(_("signatory"), max_length=100, blank=True)
    signatory_title = models.CharField(_("signatory's title"), max_length=100, blank=True)
    late_interest_rate = models.DecimalField(
        _("contractual late-interest rate (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: the ECB main refinancing rate + 10 points (Code de commerce L441-10)."),
    )
    promise_grace_days = models.PositiveSmallIntegerField(
        _("grace after a promised date (days)"), default=3
    )
    portal_promise_max_days = models.PositiveSmallIntegerField(
        _("latest promise on the customer's page (days ahead)"),
        default=30,
        help_text=_(
            "A customer may promise on their page to pay at most this many days ahead "
            "(never beyond the ledger's limit for any promise)."
        ),
    )
    portal_paid_hold_days = models.PositiveSmallIntegerField(
        _('reminders held after "I have paid" (days)'),
        default=10,
        help_text=_(
            "When a customer says on their page that they paid, the reminders of those "
            "invoices wait this many days while finance staff check the bank."
        ),
    )
    write_off_threshold = MoneyField(
        _("write-off threshold"),
        default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Finance may write off a balance up to this amount (0: never)."),
    )
    max_amount = MoneyField(
        _("largest amount entered (EUR)"),
        default=Decimal("10000000.00"),
        validators=[MinValueValidator(Decimal("1.00"))],
        help_text=_(
            "An invoice, credit note, payment or promise above this amount is refused as a "
            "likely typing error; raise it if the company really bills more."
        ),
    )

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")
        constraints = [
            models.CheckConstraint(
                condition=Q(write_off_threshold__gte=0),
                name="company_write_off_threshold_non_negative",
                violation_error_message=_("The write-off threshold cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls) -> CompanyProfile:
        """The profile; until an administrator saves one, the defaults, unsaved (reading
        it never writes, so a dry run or a preview stays read-only)."""
        return cls.objects.order_by("pk").first() or cls()

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in (self.postal_code, self.city) if p)
        return [line for line in (self.address_line1, self.address_line2, city) if line]


class ReferenceRateQuerySet(models.QuerySet["ReferenceRate"]):
    def in_force_on(self, day) -> ReferenceRate | None:
        """The row in force on ``day``: the latest one starting on or before it."""
        return self.filter(start_date__lte=day).order_by("-start_date").first()


class ReferenceRate(models.Model):
    """The ECB main refinancing rate ("taux de refinancement de la BCE") in force from
    ``start_date`` until the next row. Late interest (Code de commerce L441-10) uses the
    rate in force on 1 January for the first half-year and on 1 July for the second, so
    administrators add a row each half-year (and may add the ECB's decision dates too).
    It is data, not code: see receivables/interest.py."""

    start_date = models.DateField(_("in force from"), unique=True)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    source = models.CharField(
        _("source"),
        max_length=200,
        blank=True,
        help_text=_("e.g. the ECB decision or the Banque de France notice."),
    )

    objects = ReferenceRateQuerySet.as_manager()

    class Meta:
        verbose_name = _("ECB reference rate")
        verbose_name_plural = _("ECB reference rates")
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=-10) & Q(rate__lte=50),
                name="reference_rate_plausible",
                violation_error_message=_("A reference rate lies between -10 % and 50 %."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_date}: {self.rate} %"
