"""Administration of scenarios and their wording; the reminder log
is shown read-only and can never be deleted (it is the proof file)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core import audit
from customers.admin import CustomerAdmin
from customers.models import Customer
from reminders.models import (
    CustomerScenario,
    Reminder,
    ReminderItem,
    ReminderRun,
    ReminderTemplate,
    Scenario,
    ScenarioStep,
)


class ScenarioStepInline(admin.TabularInline):
    model = ScenarioStep
    extra = 0
    fields = (
        "position",
        "name",
        "name_en",
        "offset_days",
        "action",
        "also_phone_task",
        "approval_required",
        "min_amount",
    )
    show_change_link = True


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default")
    inlines = [ScenarioStepInline]


class ReminderTemplateInline(admin.StackedInline):
    model = ReminderTemplate
    extra = 0


@admin.register(ScenarioStep)
class ScenarioStepAdmin(admin.ModelAdmin):
    list_display = (
        "scenario",
        "position",
        "name",
        "name_en",
        "offset_days",
        "action",
        "approval_required",
        "min_amount",
    )
    list_filter = ("scenario", "action")
    inlines = [ReminderTemplateInline]


@admin.register(ReminderTemplate)
class ReminderTemplateAdmin(admin.ModelAdmin):
    list_display = ("step", "language", "subject")
    list_filter = ("language", "step__scenario")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReminderItemInline(admin.TabularInline):
    model = ReminderItem
    extra = 0
    can_delete = False
    readonly_fields = ("installment", "step", "amount_left", "days_late", "active")

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("run_date", "customer", "step", "channel", "status", "attempts", "sent_at")
    list_filter = ("status", "channel", "run_date")
    search_fields = ("customer__name", "customer__customer_ref", "message_id")
    list_select_related = ("customer", "step")
    inlines = [ReminderItemInline]
    # Stored letters are served only through the letters' view, which checks the right.
    exclude = ("pdf",)
    readonly_fields = ("pdf_link",)

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Reminder) -> str:
        if not obj.pdf:
            return "—"
        url = reverse("letters:pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.pdf.name)


@admin.register(ReminderRun)
class ReminderRunAdmin(ReadOnlyAdmin):
    list_display = ("run_date", "started_at", "finished_at", "planned", "sent", "failed")


class CustomerScenarioInline(admin.StackedInline):
    """A customer's own scenario, on the customer's admin page (empty: the default)."""

    model = CustomerScenario
    extra = 0
    max_num = 1


class CustomerWithScenarioAdmin(CustomerAdmin):
    """The customers app knows nothing of reminders: this app adds the scenario to the
    customer's admin page."""

    inlines = [*CustomerAdmin.inlines, CustomerScenarioInline]
    list_filter = [*CustomerAdmin.list_filter, "reminder_scenario__scenario"]  # type: ignore[assignment]  # a longer tuple


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithScenarioAdmin)


# The audit trail (core/audit.py): read-only, PostgreSQL only.
audit.register_events(admin.site, Scenario, ScenarioStep, CustomerScenario)
