"""Each user's interface language (customers.models.UserPreferences), chosen on the
preferences page or with the header's language buttons, and activated for every request
of that user by customers.middleware.UserLanguageMiddleware, whatever the browser says."""

import pytest
from django.conf import settings
from django.urls import reverse

from customers.middleware import user_language
from customers.models import UserPreferences

pytestmark = pytest.mark.django_db
PREFERENCES = reverse("customers:preferences")
SWITCH = reverse("customers:language")


def prefer(user, language: str) -> None:
    UserPreferences.objects.update_or_create(user=user, defaults={"language": language})


def language_of(response) -> str:
    return response.headers["Content-Language"]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_users_language_wins_over_the_browser(client, finance_user, language):
    prefer(finance_user, language)
    browser = "en" if language == "fr" else "fr"
    client.force_login(finance_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = browser
    response = client.get(reverse("workplaces:customer_list"), headers={"Accept-Language": browser})
    assert response.status_code == 200
    assert language_of(response) == language
    assert f'<html lang="{language}">' in response.content.decode()
    assert language == response.wsgi_request.LANGUAGE_CODE


def test_a_french_user_gets_french_strings(client, finance_user):
    prefer(finance_user, "fr")
    client.force_login(finance_user)
    response = client.get(reverse("workplaces:dashboard"), headers={"Accept-Language": "en"})
    assert language_of(response) == "fr"
    assert response.context["LANGUAGE_CODE"] == "fr"
    html = response.content.decode()
    # The catalogue is compiled by bin/test (the .mo file is a build product).
    assert "Tableau de bord" in html and "À traiter aujourd'hui" in html
    assert "Today's worklist" not in html


def test_without_a_preference_the_browser_decides(client, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("workplaces:customer_list"), headers={"Accept-Language": "en"})
    assert language_of(response) == "en"
    assert user_language(finance_user) is None


def test_anonymous_pages_follow_the_browser(client):
    response = client.get(reverse("login"), headers={"Accept-Language": "en"})
    assert language_of(response) == "en"


def test_preferences_page_saves_the_language(client, sales_user):
    client.force_login(sales_user)
    page = client.get(PREFERENCES, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and 'name="language"' in page.content.decode()
    response = client.post(PREFERENCES, {"language": "en"})
    assert response.status_code == 302 and response["Location"] == PREFERENCES
    assert UserPreferences.objects.get(user=sales_user).language == "en"
    # Every later page of that user is in English, even with a French browser.
    response = client.get(reverse("workplaces:sales"), headers={"Accept-Language": "fr"})
    assert language_of(response) == "en"
    response = client.post(PREFERENCES, {"language": "de"})
    assert response.status_code == 200 and "language" in response.context["form"].errors
    assert UserPreferences.objects.get(user=sales_user).language == "en"


def test_language_buttons_save_the_choice_for_a_signed_in_user(client, finance_user):
    client.force_login(finance_user)
    back = reverse("workplaces:customer_list")
    response = client.post(SWITCH, {"language": "en", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert UserPreferences.objects.get(user=finance_user).language == "en"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    response = client.post(SWITCH, {"language": "fr", "next": back})
    assert UserPreferences.objects.get(user=finance_user).language == "fr"
    assert language_of(client.get(back, headers={"Accept-Language": "en"})) == "fr"


def test_language_buttons_ignore_an_unknown_language(client, finance_user):
    prefer(finance_user, "fr")
    client.force_login(finance_user)
    client.post(SWITCH, {"language": "xx", "next": "/"})
    assert UserPreferences.objects.get(user=finance_user).language == "fr"


def test_header_posts_to_the_saving_switch(client, finance_user):
    client.force_login(finance_user)
    html = client.get(reverse("workplaces:customer_list")).content.decode()
    assert f'action="{SWITCH}"' in html
    assert f'href="{PREFERENCES}"' in html


def test_a_users_choice_follows_them_to_another_session(client, finance_user):
    """Saved on the user, not only in a cookie: a new session (another device) gets it."""
    client.force_login(finance_user)
    client.post(SWITCH, {"language": "en", "next": "/"})
    client.logout()
    client.cookies.clear()
    client.force_login(finance_user)
    response = client.get(reverse("workplaces:customer_list"), headers={"Accept-Language": "fr"})
    assert language_of(response) == "en"


def test_the_preference_costs_one_query_per_request(finance_user, django_assert_num_queries):
    prefer(finance_user, "en")
    with django_assert_num_queries(1):
        assert user_language(finance_user) == "en"


def test_preferences_form_shows_the_language_in_effect(client, finance_user):
    client.force_login(finance_user)
    response = client.get(PREFERENCES, headers={"Accept-Language": "en"})
    assert response.context["form"]["language"].value() == "en"
    prefer(finance_user, "fr")
    response = client.get(PREFERENCES, headers={"Accept-Language": "en"})
    assert response.context["form"]["language"].value() == "fr"
