"""Admin of the ledger, for administrators.

Invoices and payments are created by the services in receivables/services/ (which build
the installment plan and allocate payments), never here: the admin can correct what does
not touch the amounts (PO number, bank reference, method) and shows the rest read-only,
so the plan always sums to the invoice and the allocations to the payment."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core import audit
from receivables.models import (
    AgedBalanceSnapshot,
    Allocation,
    CompanyProfile,
    Dispute,
    Installment,
    Invoice,
    Payment,
    PromiseToPay,
    ReferenceRate,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LedgerAdmin(admin.ModelAdmin):
    """Nothing is ever deleted from the ledger: a mistake is corrected by a cancellation,
    a credit note or a re-allocation, each recorded with its reason (services)."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InstallmentInline(ReadOnlyInline):
    model = Installment
    fields = ("sequence", "due_date", "amount", "paid_amount")
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(LedgerAdmin):
    list_display = (
        "number",
        "kind",
        "customer",
        "issue_date",
        "due_date",
        "amount",
        "currency",
        "cancelled_at",
    )
    list_filter = ("kind", "currency", "issue_date", "due_date", "customer__sales_rep")
    search_fields = ("number", "po_number", "customer__name", "customer__customer_ref")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer", "credited_invoice")
    readonly_fields = (
        "number",
        "kind",
        "customer",
        "issue_date",
        "due_date",
        "amount",
        "currency",
        "credited_invoice",
        "cancelled_at",
        "created_at",
        "created_by",
        "pdf_link",
    )
    # Stored files are served only through views that check who may see them.
    exclude = ("pdf",)
    date_hierarchy = "issue_date"
    inlines = [InstallmentInline]

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        if not obj.pdf:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("receivables:invoice_pdf", args=[obj.pk]), obj.pdf.name
        )

    def has_add_permission(self, request) -> bool:
        return False  # through import_invoices or services.invoice_create


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fk_name = "payment"
    fields = ("installment", "amount", "date", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("installment__invoice")


@admin.register(Payment)
class PaymentAdmin(LedgerAdmin):
    list_display = ("date", "customer", "amount", "allocated_amount", "method", "reference")
    list_filter = ("method", "date")
    search_fields = ("reference", "customer__name", "customer__customer_ref")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    readonly_fields = (
        "customer",
        "date",
        "amount",
        "allocated_amount",
        "import_key",
        "created_at",
        "created_by",
    )
    date_hierarchy = "date"
    inlines = [AllocationInline]

    def has_add_permission(self, request) -> bool:
        return False  # through import_payments or services.payment_record


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("invoice", "reason", "opened_at", "opened_by", "resolved_at")
    list_filter = ("reason", ("resolved_at", admin.EmptyFieldListFilter), "opened_at")
    search_fields = ("invoice__number", "invoice__customer__name", "description")
    list_select_related = ("invoice", "opened_by")
    autocomplete_fields = ("invoice", "opened_by", "resolved_by")


@admin.register(PromiseToPay)
class PromiseToPayAdmin(admin.ModelAdmin):
    list_display = ("customer", "promised_date", "amount", "status", "recorded_by", "created_at")
    list_filter = ("status", "promised_date")
    search_fields = ("customer__name", "customer__customer_ref", "note")
    list_select_related = ("customer", "recorded_by")
    autocomplete_fields = ("customer", "invoices", "recorded_by")


@admin.register(CompanyProfile)
class CompanyProfileAdmin(admin.ModelAdmin):
    """The creditor's one profile: identity, bank details, late-interest rate, grace
    after a promise to pay, the threshold under which finance may write off a balance."""

    list_display = ("name", "iban", "promise_grace_days")


@admin.register(ReferenceRate)
class ReferenceRateAdmin(admin.ModelAdmin):
    """The ECB rates used for late interest: administrators add the rate in force on
    1 January and on 1 July each half-year (receivables/interest.py)."""

    list_display = ("start_date", "rate", "source")
    search_fields = ("source",)
    date_hierarchy = "start_date"
    ordering = ("-start_date",)


@admin.register(AgedBalanceSnapshot)
class AgedBalanceSnapshotAdmin(admin.ModelAdmin):
    """Monthly snapshots are evidence: read-only here, made by the schedule or the
    manager's page."""

    list_display = ("as_of", "status", "progress", "total", "created_by", "completed_at")
    list_filter = ("status",)
    date_hierarchy = "as_of"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The audit trail (core/audit.py): read-only, PostgreSQL only.
audit.register_events(admin.site, CompanyProfile, Invoice, Installment, Payment, Allocation)
