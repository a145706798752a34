from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
    path("preferences/language/", views.language_switch, name="language"),
]
