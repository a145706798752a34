"""Finding of issue #12: docker-compose.yml shipped a public default SECRET_KEY that
``check --deploy`` accepted. No shipped file holds a key now, and a production start-up or
``check --deploy`` refuses a published, placeholder or weak key."""

import re

import pytest

from core.checks import check_secret_key
from core.secret_key import DEV_KEY, KNOWN_KEYS, secret_key_problem
from tests.test_settings import PRODUCTION_ENV, ROOT, run_manage

OLD_COMPOSE_KEY = "change-me-in-production-0123456789-abcdefghijklmnopqrstuvwxyz"
GOOD_KEY = PRODUCTION_ENV["SECRET_KEY"]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        (OLD_COMPOSE_KEY, "published"),
        (DEV_KEY, "published"),
        ("django-insecure-" + "abcdefghij" * 5, "placeholder"),
        ("please-CHANGEME-" + "k3V9q7bQ2m" * 5, "placeholder"),
        ("short-but-random-Zx81!", "too short"),
        ("ab" * 40, "different characters"),
    ],
)
def test_weak_keys_are_named(key, reason):
    assert reason in secret_key_problem(key)


def test_a_random_key_passes():
    assert secret_key_problem(GOOD_KEY) is None


def test_the_compose_file_requires_the_key_from_the_environment():
    compose = (ROOT / "docker-compose.yml").read_text()
    lines = [line.strip() for line in compose.splitlines() if "SECRET_KEY:" in line]
    assert lines == [
        "SECRET_KEY: ${SECRET_KEY:?SECRET_KEY is not set: see the README "
        "(Deploying with docker compose)}"
    ]


def test_no_shipped_file_holds_a_known_key():
    shipped = [
        path
        for pattern in ("*.yml", "*.yaml", "Dockerfile", "*.env*", "*.md", "*.toml", "bin/*")
        for path in ROOT.glob(pattern)
        if path.is_file()
    ]
    assert any(p.name == "docker-compose.yml" for p in shipped)
    for path in shipped:
        text = path.read_text(errors="replace")
        for key in KNOWN_KEYS:
            assert not re.search(rf"SECRET_KEY\W+{re.escape(key)}", text), (path, key)


def test_production_start_up_refuses_the_old_compose_key():
    result = run_manage("check", env=PRODUCTION_ENV | {"SECRET_KEY": OLD_COMPOSE_KEY})
    assert result.returncode != 0
    assert "SECRET_KEY is a published key" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr


def test_production_start_up_refuses_a_short_key():
    result = run_manage("check", env=PRODUCTION_ENV | {"SECRET_KEY": "Zx81-q7bQ2m"})
    assert result.returncode != 0
    assert "SECRET_KEY is too short" in result.stderr


def test_check_deploy_fails_on_a_weak_key_even_under_debug():
    env = PRODUCTION_ENV | {"DEBUG": "true", "SECRET_KEY": OLD_COMPOSE_KEY}
    result = run_manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "relance.E001" in result.stderr + result.stdout


def test_the_deploy_check_in_process(settings):
    settings.SECRET_KEY = DEV_KEY
    (error,) = check_secret_key()
    assert error.id == "relance.E001" and error.is_serious()
    settings.SECRET_KEY = GOOD_KEY
    assert check_secret_key() == []
