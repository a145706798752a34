from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from workplaces.views.dashboard import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("workplaces.urls")),
    path("customers/", include("customers.urls")),
    path("receivables/", include("receivables.urls")),
    path("reminders/", include("reminders.urls")),
    path("reports/", include("workplaces.report_urls")),
    path("letters/", include("reminders.letters.urls")),
]
# Stored files (letters, invoice PDFs) are never served from MEDIA_ROOT by URL, not even
# under DEBUG: each has a view that fetches its row through visible_to(request.user).
