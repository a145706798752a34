"""The 403, 404 and 500 pages are the project's own, translated and styled (templates/),
with DEBUG off as in production; the 500 page needs neither the request nor the database."""

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views import defaults

from customers.models import UserPreferences

pytestmark = pytest.mark.django_db


def prefer(user, language: str) -> None:
    UserPreferences.objects.update_or_create(user=user, defaults={"language": language})


@pytest.fixture(autouse=True)
def debug_off(settings):
    settings.DEBUG = False


@pytest.mark.parametrize(
    ("language", "title"), [("fr", "Page introuvable"), ("en", "Page not found")]
)
def test_404_is_translated_and_styled(client, finance_user, language, title):
    prefer(finance_user, language)
    client.force_login(finance_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert title in html
    assert "css/app.css" in html and 'class="topbar"' in html
    assert reverse("home") in html


@pytest.mark.parametrize(("language", "title"), [("fr", "Accès refusé"), ("en", "Access denied")])
def test_403_is_translated_and_styled(client, manager_user, language, title):
    prefer(manager_user, language)
    client.force_login(manager_user)
    response = client.post(reverse("letters:approve", args=[999999]))  # finance only
    assert response.status_code == 403
    html = response.content.decode()
    assert title in html
    assert "css/app.css" in html and 'class="topbar"' in html


@pytest.mark.parametrize(
    ("language", "title"), [("fr", "Erreur du serveur"), ("en", "Server error")]
)
def test_500_needs_no_request_context_nor_database(django_assert_num_queries, language, title):
    request = RequestFactory().get("/")  # no user, no session: nothing the page may read
    with translation.override(language), django_assert_num_queries(0):
        response = defaults.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert title in html
    assert f'<html lang="{language}">' in html
    assert f'href="{settings.STATIC_URL}css/app.css"' in html
