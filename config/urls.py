from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core.auth import PasswordResetConfirmView
from workplaces.views.dashboard import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("workplaces.urls")),
    path("customers/", include("customers.urls")),
    path("receivables/", include("receivables.urls")),
    path("reminders/", include("reminders.urls")),
    path("reports/", include("workplaces.report_urls")),
    path("letters/", include("reminders.letters.urls")),
    path("imports/", include("workplaces.import_urls")),
    path("api/v1/", include("api.urls")),
    path("p/", include("portal.urls")),
]
# Stored files (letters, invoice PDFs) are never served from MEDIA_ROOT by URL, not even
# under DEBUG: each has a view that fetches its row through visible_to(request.user).
