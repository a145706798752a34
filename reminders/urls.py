from django.urls import path

from reminders import views

app_name = "reminders"

urlpatterns = [
    path("preview/", views.preview, name="preview"),
    path("customers/<int:pk>/actions/", views.customer_actions, name="customer_actions"),
    path("customers/<int:pk>/send-now/", views.send_now, name="send_now"),
    path("customers/<int:pk>/call/", views.log_call, name="log_call"),
    path("customers/<int:pk>/promise/", views.record_promise, name="record_promise"),
    path("customers/<int:pk>/pause/", views.pause, name="pause"),
    path("customers/<int:pk>/dispute/", views.open_dispute, name="open_dispute"),
    path("disputes/<int:pk>/resolve/", views.resolve_dispute, name="resolve_dispute"),
]
