"""The import pages (finance staff only): uploading files into the ledger, the bank
matching queue."""

from django.urls import URLPattern

app_name = "imports"

urlpatterns: list[URLPattern] = []
