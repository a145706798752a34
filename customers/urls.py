from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
    path("preferences/language/", views.language_switch, name="language"),
    path("preferences/tokens/", views.token_create, name="token_create"),
    path("preferences/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    # Finance's forms, under the customer list (/customers/) and page (/customers/<pk>/).
    path("new/", views.customer_create, name="customer_create"),
    path("<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact_edit"),
]
