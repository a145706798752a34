import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access, audit
from core.access import AnyUser
from core.money import MoneyField
from customers.validators import validate_sepa_mandate, validate_siren, validate_vat_number


class Language(models.TextChoices):
    FRENCH = "fr", "Français"
    ENGLISH = "en", "English"


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "CustomerQuerySet":
        return self.filter(access.scope_q(user))


@audit.track()
class Customer(models.Model):
    """A company that owes us money: the unit the ledger, the reminders and the
    sales-rep ownership are organised around."""

    customer_ref = models.CharField(
        _("accounting reference"),
        max_length=40,
        unique=True,
        help_text=_("The customer's account in the accounting system, e.g. 411DUPONT."),
    )
    name = models.CharField(_("legal name"), max_length=200)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, validators=[validate_siren])
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[validate_vat_number]
    )
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR")
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    credit_limit = MoneyField(
        _("credit limit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    insured_cover = MoneyField(
        _("credit-insurance cover"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    reminders_exempt = models.BooleanField(_("exempt from reminders"), default=False)
    reminders_paused_until = models.DateField(_("reminders paused until"), null=True, blank=True)
    direct_debit = models.BooleanField(_("pays by direct debit"), default=False)
    sepa_mandate = models.CharField(
        _("SEPA mandate reference"),
        max_length=35,
        blank=True,
        validators=[validate_sepa_mandate],
        help_text=_(
            "The unique mandate reference (RUM) of the customer's direct debits: a returned "
            "debit naming it is recognised even without an invoice number."
        ),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=True) | Q(credit_limit__gte=0),
                name="customer_credit_limit_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(insured_cover__isnull=True) | Q(insured_cover__gte=0),
                name="customer_insured_cover_non_negative",
            ),
            models.UniqueConstraint(
                fields=["sepa_mandate"],
                condition=~Q(sepa_mandate=""),
                name="customer_sepa_mandate_unique",
                violation_error_message=_("Another customer has this SEPA mandate reference."),
            ),
        ]
        indexes = [models.Index(fields=["sales_rep", "name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_ref})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("workplaces:customer_detail", args=[self.pk])

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in (self.postal_code, self.city) if p)
        return [line for line in (self.address_line1, self.address_line2, city) if line]

    def reminders_paused_on(self, day: datetime.date) -> bool:
        """Whether a pause of the reminders is in force on ``day``: paused until that day
        included (the daily run's ``receivables.models.reminder_free_on`` says the same in
        SQL; a test holds them together)."""
        return self.reminders_paused_until is not None and self.reminders_paused_until >= day

    def exceeds_credit_limit(self, balance: Decimal) -> bool:
        """Whether ``balance`` is beyond the credit limit (strictly above it; no limit
        set, never)."""
        return self.credit_limit is not None and balance > self.credit_limit

    def exceeds_insured_cover(self, balance: Decimal) -> bool:
        """Whether ``balance`` is beyond the credit-insurance cover (strictly above it;
        no cover set, never)."""
        return self.insured_cover is not None and balance > self.insured_cover


class ContactQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "ContactQuerySet":
        return self.filter(access.scope_q(user, "customer"))

    def reminder_recipients(self) -> "ContactQuerySet":
        return self.exclude(reminder_role=Contact.ReminderRole.NONE).exclude(email="")


@audit.track()
class Contact(models.Model):
    """A billing contact ("interlocuteur comptable"): who receives invoices and reminders,
    and the administrative facts asked at the sale (where invoices go, PO required)."""

    class ReminderRole(models.TextChoices):
        TO = "to", _("To")
        CC = "cc", _("Cc")
        NONE = "none", _("Does not receive reminders")

    class InvoiceChannel(models.TextChoices):
        EMAIL = "email", _("Email")
        POST = "post", _("Post")
        PORTAL = "portal", _("Supplier portal / e-invoicing platform")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    reminder_role = models.CharField(
        _("reminders"), max_length=4, choices=ReminderRole.choices, default=ReminderRole.TO
    )
    receives_invoices = models.BooleanField(_("receives invoices"), default=True)
    invoice_channel = models.CharField(
        _("invoices sent by"),
        max_length=10,
        choices=InvoiceChannel.choices,
        default=InvoiceChannel.EMAIL,
    )
    invoice_instructions = models.TextField(
        _("where and how to send invoices"),
        blank=True,
        help_text=_("Postal address, portal URL, service code, mandatory mentions…"),
    )
    po_required = models.BooleanField(_("purchase-order number required"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("billing contact")
        verbose_name_plural = _("billing contacts")
        ordering = ["customer", "reminder_role", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reminder_role="to") | ~Q(email=""),
                name="contact_reminder_recipient_has_email",
                violation_error_message=_("A contact who receives reminders needs an email."),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone


class ActivityQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "ActivityQuerySet":
        return self.filter(access.scope_q(user, "customer"))


class Activity(models.Model):
    """One entry of a customer's timeline ("journal"): a call, a note, an email or letter,
    a dispute or promise event, with its author, outcome and next action date."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        NOTE = "note", _("Note")
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Letter")
        DISPUTE = "dispute", _("Dispute")
        PROMISE = "promise", _("Promise to pay")
        PAUSE = "pause", _("Reminders paused")
        PAYMENT = "payment", _("Payment")
        CORRECTION = "correction", _("Correction")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: done by the system."),
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    summary = models.CharField(_("summary"), max_length=255)
    body = models.TextField(_("details"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=100, blank=True)
    next_action_date = models.DateField(_("next action"), null=True, blank=True)
    # Said by the customer on their own page (the portal), not by a person of the company.
    by_customer = models.BooleanField(_("by the customer, from their page"), default=False)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-occurred_at"])]

    def __str__(self) -> str:
        return self.summary


class UserPreferences(models.Model):
    """A user's own settings. The interface language is stored here rather than only in
    a cookie so that it follows the user from one browser or device to the next; the
    middleware (customers/middleware.py) activates it on every request."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="preferences",
    )
    language = models.CharField(
        _("interface language"),
        max_length=2,
        choices=Language.choices,
        default=Language.FRENCH,
    )

    class Meta:
        verbose_name = _("user preferences")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user} ({self.language})"


def new_nonce() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class PortalAccess(models.Model):
    """The customer's access to their own page (the portal): the links that reminders,
    formal notices and finance staff hand out are signed with this row's ``nonce``
    (customers/portal_links.py), so issuing a new link (a new nonce) or revoking the
    access makes every earlier link fail. One row per customer, created on first use."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="portal_access"
    )
    nonce = models.CharField(max_length=64, default=new_nonce, editable=False)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("customer page access")
        verbose_name_plural = _("customer page accesses")

    def __str__(self) -> str:
        return str(self.customer)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
