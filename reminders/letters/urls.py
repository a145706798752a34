"""Formal-notice letters and recovery files, mounted at /letters/ in config/urls.py."""

from django.urls import path

from reminders.letters import views

app_name = "letters"

urlpatterns = [
    path("", views.letter_list, name="list"),
    path("<int:pk>/", views.letter_detail, name="detail"),
    path("<int:pk>/preview.pdf", views.letter_preview, name="preview"),
    path("<int:pk>/letter.pdf", views.letter_pdf, name="pdf"),
    path("<int:pk>/approve/", views.letter_approve, name="approve"),
    path("<int:pk>/cancel/", views.letter_cancel, name="cancel"),
    path("<int:pk>/post/", views.letter_post, name="post"),
    path("customers/<int:customer_pk>/recovery.zip", views.recovery_file, name="recovery_file"),
]
