from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/invoices/<int:pk>/invoice.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("<str:token>/paid/", views.paid, name="paid"),
    path("<str:token>/promise/", views.promise, name="promise"),
    path("<str:token>/dispute/", views.dispute, name="dispute"),
    path("<str:token>/copy/", views.copy, name="copy"),
    path("<str:token>/send-to/", views.send_to, name="send_to"),
]
