"""What makes a SECRET_KEY unfit for production, decided in one place.

Read by the settings (a production start-up with such a key stops) and by the deploy
system check (``manage.py check --deploy``). Plain Python, no Django import: the
settings module calls it before Django is set up.

A key is refused when it is one that has been published (the development key, the old
docker-compose default), looks like a placeholder someone forgot to replace, is shorter
than :data:`MIN_LENGTH` characters or has fewer than :data:`MIN_UNIQUE` different
characters (Django's own thresholds, which Django only warns about).
"""

from __future__ import annotations

MIN_LENGTH = 50
MIN_UNIQUE = 5
DEV_KEY = "insecure-dev-only-key-" + "x" * 40
# Keys that were shipped in this repository at some point: public, so never secret.
KNOWN_KEYS = frozenset(
    {
        DEV_KEY,
        "change-me-in-production-0123456789-abcdefghijklmnopqrstuvwxyz",
        "build-only",
    }
)
PLACEHOLDER_MARKS = (
    "change-me",
    "change_me",
    "changeme",
    "replace-me",
    "replace_me",
    "your-secret",
    "your_secret",
    "secret-key-here",
    "django-insecure",
    "insecure-dev",
)
GENERATE_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` must not be used in production, or None when it may."""
    if not key:
        return "SECRET_KEY is empty"
    if key in KNOWN_KEYS:
        return "SECRET_KEY is a published key (shipped in the Relance repository)"
    lowered = key.lower()
    for mark in PLACEHOLDER_MARKS:
        if mark in lowered:
            return f"SECRET_KEY is a placeholder (it contains {mark!r})"
    if len(key) < MIN_LENGTH:
        return f"SECRET_KEY is too short ({len(key)} characters, at least {MIN_LENGTH})"
    if len(set(key)) < MIN_UNIQUE:
        return f"SECRET_KEY has fewer than {MIN_UNIQUE} different characters"
    return None
