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
    # The finance worklist's in-place actions (a row of a dashboard section).
    path("worklist/<slug:section>/<int:pk>/call/", views.worklist_call, name="worklist_call"),
    path(
        "worklist/<slug:section>/<int:pk>/postpone/",
        views.worklist_postpone,
        name="worklist_postpone",
    ),
    path(
        "worklist/<slug:section>/<int:pk>/handed-over/",
        views.worklist_handed_over,
        name="worklist_handed_over",
    ),
    path(
        "worklist/<slug:section>/<int:pk>/approve/", views.worklist_approve, name="worklist_approve"
    ),
    path("worklist/<slug:section>/<int:pk>/cancel/", views.worklist_cancel, name="worklist_cancel"),
    path("worklist/<slug:section>/<int:pk>/retry/", views.worklist_retry, name="worklist_retry"),
    path(
        "worklist/<slug:section>/<int:pk>/mark-sent/",
        views.worklist_mark_sent,
        name="worklist_mark_sent",
    ),
    path(
        "worklist/<slug:section>/<int:pk>/resolve/", views.worklist_resolve, name="worklist_resolve"
    ),
]
