"""Password reset through email (issue #12): the link on the login page, the email with
its one-use link, the new password, and nothing revealed about unknown addresses."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.factories import make_user

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
NEW_PASSWORD = "Quetzal-Orbit-5518"


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def user(db):
    user = make_user(None, "forgetful")
    user.email = "forgetful@example.com"
    user.set_password("old-pw-1234")
    user.save()
    return user


def reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/password-reset/[^\s]+/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_login_page_links_the_reset(client):
    html = client.get(reverse("login"), **EN).content.decode()
    assert f'href="{reverse("password_reset")}"' in html
    assert "Forgotten your password?" in html


def test_reset_end_to_end(client, user):
    page = client.get(reverse("password_reset"), **EN)
    assert page.status_code == 200 and "Reset your password" in page.content.decode()
    response = client.post(reverse("password_reset"), {"email": "Forgetful@Example.com"}, **EN)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert "Check your email" in client.get(response["Location"], **EN).content.decode()

    (message,) = mail.outbox
    assert message.to == ["forgetful@example.com"]
    assert message.subject == "Relance: reset your password"
    assert '"forgetful"' in message.body
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    link = reset_link(message)

    form = client.get(link, follow=True, **EN)  # Django swaps the token for a session one
    assert form.status_code == 200
    assert "Choose a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, **EN
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert "Your new password is set" in client.get(done["Location"], **EN).content.decode()

    # The new password logs in, the old one no longer does, the link is spent.
    assert not client.login(username="forgetful", password="old-pw-1234")
    assert client.login(username="forgetful", password=NEW_PASSWORD)
    client.logout()
    spent = client.get(link, follow=True, **EN)
    assert "This link is not valid" in spent.content.decode()


def test_a_weak_new_password_is_refused_with_a_message(client, user):
    client.post(reverse("password_reset"), {"email": user.email}, **EN)
    form = client.get(reset_link(mail.outbox[0]), follow=True, **EN)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"}, **EN
    )
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("old-pw-1234")


def test_an_unknown_address_reveals_nothing(client, user):
    known = client.post(reverse("password_reset"), {"email": user.email}, **EN)
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, **EN)
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert len(mail.outbox) == 1  # only the known address got an email


def test_the_pages_and_email_are_translated(client, user):
    fr = {"HTTP_ACCEPT_LANGUAGE": "fr"}
    assert "Mot de passe oublié" in client.get(reverse("login"), **fr).content.decode()
    client.post(reverse("password_reset"), {"email": user.email}, **fr)
    assert mail.outbox[0].subject == "Relance : réinitialisez votre mot de passe"


def test_a_new_password_lifts_the_lockout(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "forgetful", "password": "bad"}, **EN)
    locked = client.post(reverse("login"), {"username": "forgetful", "password": "old-pw-1234"})
    assert locked.status_code == 429
    client.post(reverse("password_reset"), {"email": user.email}, **EN)
    form = client.get(reset_link(mail.outbox[0]), follow=True, **EN)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    response = client.post(reverse("login"), {"username": "forgetful", "password": NEW_PASSWORD})
    assert response.status_code == 302
