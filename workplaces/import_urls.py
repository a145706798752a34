"""The import pages (finance staff only): uploading files into the ledger, the bank
matching queue."""

from django.urls import URLPattern, path

from workplaces.views import bank
from workplaces.views import imports as views

app_name = "imports"

urlpatterns: list[URLPattern] = [
    path("", views.imports_home, name="home"),
    path("upload/", views.imports_upload, name="upload"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/mapping/", views.run_map, name="run_map"),
    path("runs/<int:pk>/confirm/", views.run_confirm, name="run_confirm"),
    path("runs/<int:pk>/commit/", views.run_commit, name="run_commit"),
    path("runs/<int:pk>/file/", views.run_download, name="run_download"),
    # The bank matching queue (workplaces/views/bank.py) and its in-place actions.
    path("bank/", bank.bank_queue, name="bank_queue"),
    path("bank/<int:pk>/confirm/", bank.bank_confirm, name="bank_confirm"),
    path("bank/<int:pk>/split/", bank.bank_split, name="bank_split"),
    path("bank/<int:pk>/assign/", bank.bank_assign, name="bank_assign"),
    path("bank/<int:pk>/set-aside/", bank.bank_set_aside, name="bank_set_aside"),
    path("bank/<int:pk>/undo/", bank.bank_set_aside_undo, name="bank_undo"),
]
