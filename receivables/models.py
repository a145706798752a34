import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access
from core.access import AnyUser
from core.money import DEFAULT_CURRENCY, ZERO, MoneyField
from customers.models import Customer
from customers.validators import validate_bic, validate_iban, validate_siren, validate_vat_number

# The ledger keeps one currency. Amounts are summed everywhere (balances, aged balance,
# KPIs, letters); a total of euros and dollars means nothing, so every entry refuses
# another currency (services, forms, imports) and the database has the last word.
LEDGER_CURRENCY = DEFAULT_CURRENCY


def validate_ledger_currency(value: str) -> None:
    if value != LEDGER_CURRENCY:
        raise ValidationError(
            _("%(currency)s is not accepted: the ledger is kept in %(ledger)s only."),
            code="currency",
            params={"currency": value, "ledger": LEDGER_CURRENCY},
        )


class InvoiceQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "InvoiceQuerySet":
        return self.filter(access.scope_q(user, "customer"))

    def active(self) -> "InvoiceQuerySet":
        """Invoices and credit notes that count (not cancelled)."""
        return self.filter(cancelled_at__isnull=True)

    def invoices(self) -> "InvoiceQuerySet":
        return self.filter(kind=Invoice.Kind.INVOICE)

    def credit_notes(self) -> "InvoiceQuerySet":
        return self.filter(kind=Invoice.Kind.CREDIT_NOTE)


class Invoice(models.Model):
    """An invoice or a credit note ("avoir"). An invoice is paid through its installments;
    a credit note is a credit of the customer, allocated to installments like a payment."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    number = models.CharField(_("number"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices"
    )
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    amount = MoneyField(_("amount incl. tax"))
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=LEDGER_CURRENCY,
        validators=[validate_ledger_currency],
    )
    po_number = models.CharField(_("PO number"), max_length=60, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="invoices/%Y/", blank=True)
    credited_invoice = models.ForeignKey(
        "self",
        verbose_name=_("credited invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-number"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")),
                name="invoice_due_after_issue",
                violation_error_message=_("The due date cannot be before the issue date."),
            ),
            models.CheckConstraint(
                condition=Q(currency=LEDGER_CURRENCY),
                name="invoice_currency_ledger",
                violation_error_message=_("Invoices are kept in EUR, the ledger's only currency."),
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "issue_date"]),
            models.Index(fields=["due_date"]),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("receivables:invoice_detail", args=[self.pk])

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class InstallmentQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "InstallmentQuerySet":
        return self.filter(access.scope_q(user, "invoice__customer"))

    def counting(self) -> "InstallmentQuerySet":
        """Installments of invoices that are not cancelled."""
        return self.filter(invoice__cancelled_at__isnull=True, invoice__kind=Invoice.Kind.INVOICE)

    def open(self) -> "InstallmentQuerySet":
        return self.counting().filter(paid_amount__lt=F("amount"))

    def overdue(self, as_of) -> "InstallmentQuerySet":
        return self.open().filter(due_date__lt=as_of)

    # "May this installment be reminded on that day?" is answered here, once, for the daily
    # run, the check before a delayed send and the pages that show the next step.

    def in_reminder_scope(self) -> "InstallmentQuerySet":
        """What a reminder may reach at all, whatever the day: open (of a counting invoice,
        not fully paid), of a customer neither exempt from reminders nor paying by direct
        debit, on an invoice with no open dispute."""
        return (
            self.open()
            .filter(
                invoice__customer__reminders_exempt=False,
                invoice__customer__direct_debit=False,
            )
            .exclude(Exists(Dispute.objects.open().filter(invoice=OuterRef("invoice"))))
        )

    def remindable(self, *, on: datetime.date, grace_days: int | None = None):
        """The installments that may be reminded on ``on``: in the reminder scope and
        :func:`reminder_free_on` that day. ``grace_days`` defaults to the company's."""
        return self.in_reminder_scope().filter(reminder_free_on(on, grace_days=grace_days))


class Installment(models.Model):
    """One due date of an invoice's payment plan ("échéance"). The parts of a plan always
    sum to the invoice total; lateness is measured per installment. ``paid_amount`` is the
    sum of its allocations, kept by the allocation services, and the database refuses any
    allocation beyond what is due."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="installments")
    sequence = models.PositiveSmallIntegerField(_("part"))
    due_date = models.DateField(_("due date"))
    amount = MoneyField(_("amount"))
    paid_amount = MoneyField(_("paid"), default=ZERO)

    objects = InstallmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["due_date", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "sequence"], name="installment_unique_part"),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="installment_amount_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                name="installment_paid_within_amount",
                violation_error_message=_("An installment cannot be paid beyond its amount."),
            ),
        ]
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self) -> str:
        return f"{self.invoice.number} #{self.sequence}"

    @property
    def amount_left(self) -> Decimal:
        return self.amount - self.paid_amount

    def days_late(self, as_of) -> int:
        return (as_of - self.due_date).days


class PaymentQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "PaymentQuerySet":
        return self.filter(access.scope_q(user, "customer"))


class Payment(models.Model):
    """Money received from a customer ("règlement"), allocated to installments
    ("lettrage"); what is not allocated is the customer's credit."""

    class Method(models.TextChoices):
        TRANSFER = "transfer", _("Bank transfer")
        CHEQUE = "cheque", _("Cheque")
        CARD = "card", _("Card")
        DIRECT_DEBIT = "direct_debit", _("Direct debit")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="payments"
    )
    date = models.DateField(_("date"))
    amount = MoneyField(_("amount"))
    allocated_amount = MoneyField(_("allocated"), default=ZERO)
    method = models.CharField(
        _("method"), max_length=12, choices=Method.choices, default=Method.TRANSFER
    )
    reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(allocated_amount__gte=0) & Q(allocated_amount__lte=F("amount")),
                name="payment_allocated_within_amount",
                violation_error_message=_("A payment cannot be allocated beyond its amount."),
            ),
        ]
        indexes = [models.Index(fields=["customer", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.reference}".strip()

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated_amount


class Allocation(models.Model):
    """Part of a payment or of a credit note applied to one installment ("lettrage").
    ``date`` is the credit's own date (payment date or credit-note issue date), so the
    ledger can be read as of any past date."""

    installment = models.ForeignKey(
        Installment, on_delete=models.CASCADE, related_name="allocations"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations"
    )
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations_made"
    )
    amount = MoneyField(_("amount"))
    date = models.DateField(_("date"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=(Q(payment__isnull=False) & Q(credit_note__isnull=True))
                | (Q(payment__isnull=True) & Q(credit_note__isnull=False)),
                name="allocation_one_source",
            ),
        ]
        indexes = [models.Index(fields=["installment", "date"])]

    def __str__(self) -> str:
        return f"{self.amount} → {self.installment}"


class DisputeQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "DisputeQuerySet":
        return self.filter(access.scope_q(user, "invoice__customer"))

    def open(self) -> "DisputeQuerySet":
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

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="disputes")
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
    def visible_to(self, user: AnyUser) -> "PromiseQuerySet":
        return self.filter(access.scope_q(user, "customer"))

    def pending(self) -> "PromiseQuerySet":
        return self.filter(status=PromiseToPay.Status.PENDING)

    def holding_on(self, day: datetime.date, *, grace_days: int) -> "PromiseQuerySet":
        """Pending promises that still hold reminders on ``day``: their promised date plus
        the grace period reaches ``day``."""
        return self.pending().filter(promised_date__gte=_grace_start(day, grace_days))

    def expired_on(self, day: datetime.date, *, grace_days: int) -> "PromiseQuerySet":
        """Pending promises whose promised date plus the grace period is before ``day``:
        the daily run settles them (kept or broken)."""
        return self.pending().filter(promised_date__lt=_grace_start(day, grace_days))


def _grace_start(day: datetime.date, grace_days: int) -> datetime.date:
    """The earliest promised date that still holds reminders on ``day``."""
    return day - datetime.timedelta(days=grace_days)


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
    invoices = models.ManyToManyField(Invoice, blank=True, related_name="promises")
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
    plus ``grace_days`` (default: the company's :attr:`CompanyProfile.promise_grace_days`).
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
    )


class ReferenceRateQuerySet(models.QuerySet["ReferenceRate"]):
    def in_force_on(self, day) -> "ReferenceRate | None":
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


class AgedBalanceSnapshotQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "AgedBalanceSnapshotQuerySet":
        """Snapshots cover the whole ledger, so only those who may export see them."""
        return self if access.may(user, access.Action.EXPORT) else self.none()

    def done(self) -> "AgedBalanceSnapshotQuerySet":
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

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls) -> "CompanyProfile":
        """The profile; until an administrator saves one, the defaults, unsaved (reading
        it never writes, so a dry run or a preview stays read-only)."""
        return cls.objects.order_by("pk").first() or cls()

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in (self.postal_code, self.city) if p)
        return [line for line in (self.address_line1, self.address_line2, city) if line]
