from django.urls import path

from workplaces.views import reports as views

app_name = "reports"

urlpatterns = [
    path("", views.reports_home, name="home"),
    path("snapshots/", views.snapshot_create, name="snapshot_create"),
    path("snapshots/<int:pk>/", views.snapshot_detail, name="snapshot_detail"),
    path(
        "snapshots/<int:pk>/aged-balance.csv",
        views.snapshot_download,
        {"fmt": "csv"},
        name="snapshot_csv",
    ),
    path(
        "snapshots/<int:pk>/aged-balance.xlsx",
        views.snapshot_download,
        {"fmt": "xlsx"},
        name="snapshot_xlsx",
    ),
    path(
        "snapshots/<int:pk>/aged-balance.pdf",
        views.snapshot_download,
        {"fmt": "pdf"},
        name="snapshot_pdf",
    ),
]
