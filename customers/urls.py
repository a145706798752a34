from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("dashboard/", views.finance_dashboard, name="dashboard"),
    path("dashboard/<slug:section>/", views.dashboard_section, name="dashboard_section"),
    path("mine/", views.sales_view, name="sales"),
    path("preferences/", views.preferences, name="preferences"),
    path("preferences/language/", views.language_switch, name="language"),
]
