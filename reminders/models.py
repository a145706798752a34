from django.db import models
from django.utils.translation import gettext_lazy as _


class Scenario(models.Model):
    """An ordered escalation of reminder steps ("scénario de relance")."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default scenario"), default=False)

    class Meta:
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True),
                name="scenario_single_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CompanyProfile(models.Model):
    """The creditor company: letterhead, legal mentions and bank details shown on every
    reminder and letter. One row, edited by administrators (``CompanyProfile.get()``)."""

    name = models.CharField(_("legal name"), max_length=200, default="Relance demo SAS")
    legal_form = models.CharField(_("legal form and capital"), max_length=200, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    rcs = models.CharField(_("trade register (RCS)"), max_length=100, blank=True)
    email = models.EmailField(_("accounts receivable email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    signatory_name = models.CharField(_("signatory"), max_length=100, blank=True)
    signatory_title = models.CharField(_("signatory's title"), max_length=100, blank=True)
    late_interest_rate = models.DecimalField(
        _("contractual late-interest rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True,
        help_text=_("Empty: the ECB main refinancing rate + 10 points (Code de commerce L441-10)."),
    )
    promise_grace_days = models.PositiveSmallIntegerField(
        _("grace after a promised date (days)"), default=3
    )

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls) -> "CompanyProfile":
        profile = cls.objects.order_by("pk").first()
        return profile if profile is not None else cls.objects.create()

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in (self.postal_code, self.city) if p)
        return [line for line in (self.address_line1, self.address_line2, city) if line]
