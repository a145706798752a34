from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core import audit
from customers.models import Activity, Contact, Customer


class ContactInline(admin.StackedInline):
    model = Contact
    extra = 0
    fields = (
        ("name", "role"),
        ("email", "phone"),
        ("reminder_role", "receives_invoices", "invoice_channel", "po_required"),
        "invoice_instructions",
    )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "customer_ref",
        "sales_rep",
        "city",
        "language",
        "reminders_paused_until",
        "direct_debit",
    )
    list_filter = ("language", "sales_rep", "direct_debit", "reminders_exempt")
    search_fields = ("name", "customer_ref", "siren", "vat_number", "contacts__email")
    list_select_related = ("sales_rep",)
    autocomplete_fields = ("sales_rep",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [ContactInline]
    fieldsets = (
        (
            None,
            {"fields": ("name", "customer_ref", ("siren", "vat_number"), "language", "sales_rep")},
        ),
        (
            _("Address"),
            {"fields": ("address_line1", "address_line2", ("postal_code", "city"), "country")},
        ),
        (
            _("Credit and reminders"),
            {
                "fields": (
                    "payment_terms_days",
                    ("credit_limit", "insured_cover"),
                    "reminders_exempt",
                    "reminders_paused_until",
                    ("direct_debit", "sepa_mandate"),
                )
            },
        ),
        (None, {"fields": ("notes", ("created_at", "updated_at"))}),
    )


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "customer", "kind", "summary", "author", "next_action_date")
    list_filter = ("kind", "occurred_at", "next_action_date")
    search_fields = ("summary", "body", "customer__name", "customer__customer_ref")
    list_select_related = ("customer", "author")
    date_hierarchy = "occurred_at"

    # The timeline is the customer's history (who called, what was promised, each
    # correction's reason): written by the services, read here, never edited or deleted.
    # Without delete permission here, the admin also refuses to delete a customer that
    # has a timeline (its entries would go with it).
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The audit trail (core/audit.py): read-only, PostgreSQL only.
audit.register_events(admin.site, Customer, Contact)
