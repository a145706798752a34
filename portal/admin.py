from django.contrib import admin

from portal.models import PortalVisit


@admin.register(PortalVisit)
class PortalVisitAdmin(admin.ModelAdmin):
    """The log of the customers' pages: read-only, even for a superuser."""

    list_display = ("at", "ip", "customer", "action", "outcome", "detail")
    list_filter = ("outcome", "action")
    search_fields = ("ip", "customer__name", "customer__customer_ref")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
