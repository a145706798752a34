"""The workplaces' pages. Their paths keep the product's URLs (/customers/…,
/reminders/worklist/…); the manager's reports are in report_urls.py (/reports/)."""

from django.urls import path

from workplaces.views import corrections, customers, dashboard, portal_links

app_name = "workplaces"

urlpatterns = [
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/history/", customers.customer_history, name="customer_history"),
    path("customers/mine/", customers.sales_view, name="sales"),
    # The customer's page (the portal): its link, and the files sent from it.
    path(
        "customers/<int:pk>/portal/link/",
        portal_links.portal_link_issue,
        name="portal_link_issue",
    ),
    path(
        "customers/<int:pk>/portal/revoke/",
        portal_links.portal_link_revoke,
        name="portal_link_revoke",
    ),
    path(
        "customers/<int:pk>/portal/files/<slug:kind>/<int:file_pk>/",
        portal_links.portal_file,
        name="portal_file",
    ),
    path("customers/dashboard/", dashboard.finance_dashboard, name="dashboard"),
    # Corrections reaching beyond the ledger (the invoice's reminders in progress).
    path(
        "receivables/invoices/<int:pk>/cancel/",
        corrections.invoice_cancel,
        name="invoice_cancel",
    ),
    path(
        "customers/dashboard/<slug:section>/",
        dashboard.dashboard_section,
        name="dashboard_section",
    ),
    # The finance worklist's in-place actions (a row of a dashboard section).
    path(
        "reminders/worklist/<slug:section>/<int:pk>/call/",
        dashboard.worklist_call,
        name="worklist_call",
    ),
    path(
        "reminders/worklist/<slug:section>/<int:pk>/postpone/",
        dashboard.worklist_postpone,
        name="worklist_postpone",
    ),
    path(
        "reminders/worklist/<slug:section>/<int:pk>/handed-over/",
        dashboard.worklist_handed_over,
        name="worklist_handed_over",
    ),
    path(
        "reminders/worklist/<slug:section>/<int:pk>/approve/",
        dashboard.worklist_approve,
        name="worklist_approve",
    ),
    path(
        "reminders/worklist/<slug:section>/<int:pk>/cancel/",
        dashboard.worklist_cancel,
        name="worklist_cancel",
    ),
    path(
        "reminders/worklist/<slug:section>/<int:pk>/retry/",
        dashboard.worklist_retry,
        name="worklist_retry",
    ),
    path(
        "reminders/worklist/<slug:section>/<int:pk>/mark-sent/",
        dashboard.worklist_mark_sent,
        name="worklist_mark_sent",
    ),
    path(
        "reminders/worklist/<slug:section>/<int:pk>/resolve/",
        dashboard.worklist_resolve,
        name="worklist_resolve",
    ),
]
