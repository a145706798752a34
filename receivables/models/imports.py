"""What the imports remember: each line of an accounting import already read (so a
re-import is harmless), each file uploaded on the import page, and column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from receivables.models.invoices import Invoice
from receivables.models.payments import Payment
from receivables.storage import PrivateStorage


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


def private_storage() -> PrivateStorage:
    return PrivateStorage()


class ImportRun(models.Model):
    """One file uploaded on the import page, and what became of it: who, when, which
    file (kept privately, with its checksum), the kind Relance recognised, the column
    mapping used, the preview's counts and refused rows, the progress of a large file
    and the outcome. Several files uploaded together make one run each."""

    class Kind(models.TextChoices):
        INVOICES = "invoices", _("Invoices")
        PAYMENTS = "payments", _("Payments")
        FEC = "fec", _("Accounting entries (FEC)")
        EINVOICE = "einvoice", _("E-invoice")
        BANK = "bank", _("Bank statement")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        NEEDS_MAPPING = "needs_mapping", _("Needs mapping")
        PREVIEWED = "previewed", _("Previewed")
        RUNNING = "running", _("Running")
        IMPORTED = "imported", _("Imported")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_runs",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, blank=True)
    file = models.FileField(
        _("file"), storage=private_storage, upload_to="imports/%Y/%m/", blank=True
    )
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.UPLOADED
    )
    # "previewing" while the preview of a large file runs, "committing" while it is
    # written; empty otherwise.
    stage = models.CharField(_("stage"), max_length=20, blank=True)
    progress_done = models.PositiveIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveIntegerField(_("rows"), default=0)
    columns = models.JSONField(_("file columns"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    counts = models.JSONField(_("counts"), default=list, blank=True)
    refused_rows = models.JSONField(_("refused rows"), default=list, blank=True)
    notes = models.JSONField(_("notes"), default=list, blank=True)
    sample = models.JSONField(_("sample"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    # An e-invoice refused only for warnings (dated over a year ago, no PO number its
    # customer requires) may be confirmed by the user, then previewed again.
    needs_confirmation = models.BooleanField(_("needs confirmation"), default=False)
    confirmed = models.BooleanField(_("warnings confirmed"), default=False)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("same file imported by"),
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["sha256", "kind", "status"])]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_working(self) -> bool:
        """A task is previewing or writing the file: the page polls."""
        return bool(self.stage)

    @property
    def can_commit(self) -> bool:
        return self.status == self.Status.PREVIEWED and not self.stage

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, self.progress_done * 100 // self.progress_total)


class ImportProgress(models.Model):
    """How far the task writing a large import has got. Written on a connection of its
    own, outside the import's transaction, so the page sees it move while the import
    itself stays all or nothing; no foreign key, so the write never waits on the run's
    row, which the import holds locked."""

    run_id = models.BigIntegerField(unique=True)
    done = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("import progress")
        verbose_name_plural = _("import progress")

    def __str__(self) -> str:
        return f"{self.run_id}: {self.done}"


class ColumnMapping(models.Model):
    """How the columns of a spreadsheet layout map to what an import expects, remembered
    per kind and header fingerprint (a hash of the normalised header row), so the next
    file with the same layout is mapped without asking."""

    kind = models.CharField(_("kind"), max_length=20, choices=ImportRun.Kind.choices)
    fingerprint = models.CharField(_("header fingerprint"), max_length=64)
    columns = models.JSONField(_("file columns"), default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "fingerprint"], name="column_mapping_unique_layout"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.fingerprint[:12]}"
