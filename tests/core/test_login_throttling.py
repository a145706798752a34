"""Finding of issue #12: 30 wrong passwords in 86 s, then the right one was accepted at
once, and every attempt cost a full password hash. django-axes now locks a username out
from one client address after LOGIN_FAILURE_LIMIT failures, for the cool-off period,
before any hash; behind a reverse proxy the client is read from X-Forwarded-For only as
far as TRUSTED_PROXY_COUNT says."""

import pytest
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.test import RequestFactory
from django.urls import reverse

from core.auth import client_ip
from tests.factories import make_user

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
PASSWORD = "pw-right-4821"
ATTACKER = "203.0.113.7"


@pytest.fixture
def user(db):
    user = make_user(None, "victim")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def hashes(monkeypatch):
    """How many times a password was checked (each a full hash in production)."""
    calls = []
    original = ModelBackend.authenticate

    def spy(self, request, username=None, password=None, **kwargs):
        calls.append(username)
        return original(self, request, username, password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", spy)
    return calls


def attempt(client, password, *, username="victim", ip=ATTACKER, **extra):
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
        HTTP_ACCEPT_LANGUAGE="en",
        **extra,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_lock_the_right_one_out_until_the_cool_off(
    client, user, hashes, clock
):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(30):
        attempt(client, "wrong")
    response = attempt(client, PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    text = response.content.decode()
    assert "Too many failed attempts" in text
    assert f"after {limit} failed attempts" in text
    assert "Try again in 15 minutes" in text
    assert reverse("password_reset") in text
    # Only the attempts before the lock-out checked a password: no hash once locked.
    assert len(hashes) == limit

    clock.shift(minutes=14)
    assert attempt(client, PASSWORD).status_code == 429  # still locked
    assert not logged_in(client)

    clock.shift(minutes=16)  # the cool-off has passed since the last attempt
    response = attempt(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert logged_in(client)


def test_the_lockout_page_is_translated(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "wrong")
    response = client.post(
        LOGIN, {"username": "victim", "password": PASSWORD}, REMOTE_ADDR=ATTACKER,
        HTTP_ACCEPT_LANGUAGE="fr",
    )  # fmt: skip
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()


def test_the_lock_is_per_username_and_address(client, user):
    other = make_user(None, "colleague")
    other.set_password(PASSWORD)
    other.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 429
    # The same user from their own office, and a colleague from the attacker's address.
    assert attempt(client, PASSWORD, ip="198.51.100.20").status_code == 302
    client.logout()
    assert attempt(client, PASSWORD, username="colleague").status_code == 302


def test_a_success_resets_the_count(client, user):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(limit - 1):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(client, user):
    for n in range(settings.AXES_FAILURE_LIMIT + 3):
        attempt(client, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429


def test_behind_one_proxy_clients_are_told_apart_by_forwarded_for(client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for n in range(settings.AXES_FAILURE_LIMIT + 3):
        # The attacker forges a left-hand entry: the proxy appends the real address.
        attempt(client, "wrong", ip=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}")
    locked = attempt(client, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert locked.status_code == 429
    # The real user, behind the same proxy, is not locked out by the attacker.
    response = attempt(client, PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.2", "10.0.0.2"),
        (1, "192.0.2.1", "10.0.0.2", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "10.0.0.2", "192.0.2.1"),
        (2, "6.6.6.6, 192.0.2.1, 10.0.0.9", "10.0.0.2", "192.0.2.1"),
        (2, "192.0.2.1", "10.0.0.2", "10.0.0.2"),  # fewer entries than proxies
        (1, "not-an-ip", "10.0.0.2", "10.0.0.2"),
        (1, "", "10.0.0.2", "10.0.0.2"),
        (1, " 2001:db8::1 ", "10.0.0.2", "2001:db8::1"),
    ],
)
def test_client_ip(settings, proxies, forwarded, remote, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_ip(request) == expected
