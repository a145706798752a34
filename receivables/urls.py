from django.urls import path

from receivables import views

app_name = "receivables"

urlpatterns = [
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/invoice.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/edit/", views.invoice_edit, name="invoice_edit"),
    path(
        "customers/<int:customer_pk>/invoices/new/",
        views.invoice_create,
        name="invoice_create",
    ),
    path(
        "customers/<int:customer_pk>/payments/new/",
        views.payment_create,
        name="payment_create",
    ),
    path(
        "customers/<int:customer_pk>/credit-notes/new/",
        views.credit_note_create,
        name="credit_note_create",
    ),
    path("customers/<int:customer_pk>/apply-credit/", views.credit_apply, name="credit_apply"),
    path("customers/<int:customer_pk>/write-off/", views.balance_write_off, name="write_off"),
    path("payments/<int:pk>/reallocate/", views.payment_reallocate, name="payment_reallocate"),
    path("aged-balance/", views.aged_balance, name="aged_balance"),
    path("aged-balance.csv", views.aged_balance_download, {"fmt": "csv"}, name="aged_balance_csv"),
    path(
        "aged-balance.xlsx",
        views.aged_balance_download,
        {"fmt": "xlsx"},
        name="aged_balance_xlsx",
    ),
]
