"""Production configuration: `check --deploy` is clean, and bad configuration is refused."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import mailer_from_url

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k3V9q-production-like-secret-7bQ2mZr8xW1pT4nL6yH0cJ5sD9fG3aE2uI8oP",
    "ALLOWED_HOSTS": "relance.example.com",
    "DATABASE_URL": "sqlite:////tmp/relance-deploy-check.sqlite3",
    "EMAIL_URL": "submission://ar%40example.com:s3cret@smtp.example.com:587",
}


def run_manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    leave_out = {*PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in leave_out}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_is_refused_in_production():
    env = PRODUCTION_ENV | {"SECRET_KEY": ""}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_email_url_maps_onto_mailers():
    smtp = mailer_from_url("submission://ar%40example.com:s3cret@smtp.example.com:587")
    assert smtp == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "smtp.example.com",
            "port": 587,
            "use_ssl": False,
            "use_tls": True,
            "timeout": 15,
            "username": "ar@example.com",
            "password": "s3cret",
        },
    }
    assert mailer_from_url("smtp://127.0.0.1:1025")["OPTIONS"]["port"] == 1025
    assert mailer_from_url("smtps://mail.example.com")["OPTIONS"]["use_ssl"] is True
    assert mailer_from_url("consolemail://") == {
        "BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    with pytest.raises(ImproperlyConfigured, match="unsupported scheme"):
        mailer_from_url("carrier-pigeon://loft")
