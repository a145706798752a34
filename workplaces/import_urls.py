"""The import pages (finance staff only): uploading files into the ledger, the bank
matching queue."""

from django.urls import URLPattern, path

from workplaces.views import bank

app_name = "imports"

urlpatterns: list[URLPattern] = []

# The bank matching queue (workplaces/views/bank.py) and its in-place actions.
urlpatterns += [
    path("bank/", bank.bank_queue, name="bank_queue"),
    path("bank/<int:pk>/confirm/", bank.bank_confirm, name="bank_confirm"),
    path("bank/<int:pk>/split/", bank.bank_split, name="bank_split"),
    path("bank/<int:pk>/assign/", bank.bank_assign, name="bank_assign"),
    path("bank/<int:pk>/set-aside/", bank.bank_set_aside, name="bank_set_aside"),
    path("bank/<int:pk>/undo/", bank.bank_set_aside_undo, name="bank_undo"),
]
