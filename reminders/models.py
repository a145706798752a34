from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core import access, audit
from core.access import AnyUser
from core.money import ZERO, MoneyField
from customers.models import Language


@audit.track()
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
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="scenario_single_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


@audit.track()
class CustomerScenario(models.Model):
    """The scenario a customer follows when it is not the default one. The link lives
    here, on the reminders side, because a customer knows nothing of reminders."""

    customer = models.OneToOneField(
        "customers.Customer",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="reminder_scenario",
        verbose_name=_("customer"),
    )
    scenario = models.ForeignKey(
        Scenario,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("reminder scenario"),
    )

    class Meta:
        verbose_name = _("customer's scenario")
        verbose_name_plural = _("customers' scenarios")

    def __str__(self) -> str:
        return f"{self.customer} — {self.scenario}"


def step_label(name: str, name_en: str, language: str | None = None) -> str:
    """A step's name in ``language`` (default: the active one): the English name for
    English when there is one, the French name otherwise."""
    language = (language or get_language() or "fr").split("-")[0]
    return name_en if language == Language.ENGLISH and name_en else name


@audit.track()
class ScenarioStep(models.Model):
    """One step of a scenario: what happens ``offset_days`` after an installment's due
    date (negative: a courtesy note before it). Steps are taken in ``position`` order,
    one at a time per installment."""

    class Action(models.TextChoices):
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Formal-notice letter")
        PHONE = "phone", _("Phone task")
        COLLECTION = "collection", _("Hand-off to collection")

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("step"))
    name = models.CharField(_("name (French)"), max_length=100)
    name_en = models.CharField(
        _("name (English)"), max_length=100, blank=True, help_text=_("Empty: the French name.")
    )
    offset_days = models.SmallIntegerField(
        _("days after the due date"), help_text=_("Negative: a courtesy note before it.")
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    also_phone_task = models.BooleanField(
        _("also create a phone task"),
        default=False,
        help_text=_("Adds a call to the finance worklist when this step is sent."),
    )
    approval_required = models.BooleanField(_("approval required"), default=False)
    min_amount = MoneyField(
        _("minimum overdue amount"),
        default=ZERO,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Below this total for the customer, the step is not taken."),
    )

    class Meta:
        verbose_name = _("scenario step")
        verbose_name_plural = _("scenario steps")
        ordering = ["scenario", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "position"], name="scenario_step_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(min_amount__gte=0), name="step_min_amount_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario} — {self.position}. {self.name}"

    def label(self, language: str | None = None) -> str:
        """The name in ``language``: the user's on pages (the active language), the
        customer's in emails and letters."""
        return step_label(self.name, self.name_en, language)

    @property
    def display_name(self) -> str:
        """The name in the active language (templates: ``{{ step.display_name }}``)."""
        return self.label()


class ReminderTemplate(models.Model):
    """The wording of a step's email in one language, edited by administrators. Rendered
    by Django's template engine with the customer, the contact, the installments, the
    totals, the company's bank details and the payment reference."""

    step = models.ForeignKey(ScenarioStep, on_delete=models.CASCADE, related_name="templates")
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("plain-text body"))
    body_html = models.TextField(_("HTML body"))

    class Meta:
        verbose_name = _("reminder template")
        verbose_name_plural = _("reminder templates")
        ordering = ["step", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["step", "language"], name="reminder_template_unique_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step} [{self.language}]"


class ReminderRun(models.Model):
    """One daily run (per date). Its row is locked while the run plans, so two workers
    running the same date plan once; it also keeps the run's counters for the log."""

    run_date = models.DateField(_("date"), unique=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    planned = models.PositiveIntegerField(_("planned"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)

    class Meta:
        verbose_name = _("reminder run")
        verbose_name_plural = _("reminder runs")
        ordering = ["-run_date"]

    def __str__(self) -> str:
        return str(self.run_date)


class ReminderQuerySet(models.QuerySet):
    def visible_to(self, user: AnyUser) -> "ReminderQuerySet":
        return self.filter(access.scope_q(user, "customer"))

    def notices_in_progress(self) -> "ReminderQuerySet":
        """Formal notices awaiting approval, or approved and not posted yet: at most one
        per customer (a database constraint)."""
        S = Reminder.Status
        return self.filter(
            channel=Reminder.Channel.LETTER, status__in=[S.AWAITING_APPROVAL, S.SENDING]
        )

    def emails(self) -> "ReminderQuerySet":
        return self.filter(channel=Reminder.Channel.EMAIL)

    def in_flight(self) -> "ReminderQuerySet":
        """Emails not settled yet: while one exists, the customer gets no new email."""
        S = Reminder.Status
        return self.emails().filter(status__in=[S.PLANNED, S.SENDING, S.FAILED, S.UNKNOWN])


class Reminder(models.Model):
    """One reminder action taken or planned for a customer ("relance"): an email, a
    formal-notice letter or a task for finance staff. The reminder log is the proof file
    for any legal follow-up: rows are never deleted, a send is recorded as an intent
    ("sending") before it leaves and as an outcome after."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Letter")
        PHONE = "phone", _("Phone task")
        COLLECTION = "collection", _("Collection hand-off")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown: needs checking")
        CANCELLED = "cancelled", _("Cancelled")
        TODO = "todo", _("To do")
        DONE = "done", _("Done")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="reminders",
    )
    step = models.ForeignKey(
        ScenarioStep, verbose_name=_("step"), on_delete=models.PROTECT, related_name="reminders"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    run_date = models.DateField(_("run date"))
    language = models.CharField(_("language"), max_length=2, default="fr")
    total_amount = MoneyField(_("amount reminded"), default=ZERO)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("plain-text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    # The EPC QR code's payload, shown inline in the HTML part (reminders/emails.py).
    qr_payload = models.TextField(_("payment QR code"), blank=True)
    recipients = models.JSONField(_("recipients"), default=dict, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: the daily run."),
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # The sender that claimed the row (run/send.py): it holds a PostgreSQL advisory lock
    # on this number while it sends, so a row still "sending" whose lock is free was
    # stranded by a crash.
    claim_token = models.IntegerField(_("claim token"), null=True, blank=True, editable=False)
    # When this attempt handed the message over to the mail server (just before the SMTP
    # DATA command): a stranded row without it certainly did not leave.
    handed_at = models.DateTimeField(_("handed to the mail server at"), null=True, blank=True)
    attempted_on = models.DateField(_("last attempt run date"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # A formal-notice letter (rendered and posted by the letters module).
    pdf = models.FileField(_("PDF"), upload_to="reminders/letters/%Y/", blank=True)
    tracking_number = models.CharField(_("registered-post number"), max_length=60, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # A task (call, collection hand-off) once done.
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-run_date", "-pk"]
        indexes = [
            models.Index(fields=["customer", "channel", "run_date"]),
            models.Index(fields=["status", "channel"]),
        ]
        constraints = [
            # A customer has at most one formal notice in progress (awaiting approval, or
            # approved and not posted yet): whatever creates letters (a run, a rerun, two
            # runs at once, a person), the database refuses a second one.
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(channel="letter", status__in=["awaiting_approval", "sending"]),
                name="reminder_one_notice_in_progress",
                violation_error_message=_(
                    "This customer already has a formal notice in progress: approve, post "
                    "or cancel it first."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} — {self.step.name} ({self.get_status_display()})"


class ReminderItem(models.Model):
    """An installment covered by a reminder, with the amounts at that time. The unique
    key (installment, step) among live items is what makes a rerun, or two workers at
    once, harmless: an installment takes each step once. Items of a cancelled reminder
    are set inactive, which frees the step to be taken again."""

    reminder = models.ForeignKey(Reminder, on_delete=models.PROTECT, related_name="items")
    installment = models.ForeignKey(
        "receivables.Installment", on_delete=models.PROTECT, related_name="reminder_items"
    )
    step = models.ForeignKey(ScenarioStep, on_delete=models.PROTECT, related_name="+")
    amount_left = MoneyField(_("amount left"))
    days_late = models.IntegerField(_("days late"))
    active = models.BooleanField(_("live"), default=True)

    class Meta:
        verbose_name = _("reminder item")
        verbose_name_plural = _("reminder items")
        ordering = ["reminder", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["installment", "step"],
                condition=Q(active=True),
                name="reminder_item_once_per_step",
                violation_error_message=_("This installment already took this step."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.installment} @ {self.step_id}"
