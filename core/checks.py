"""System checks of the deployment (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from core.secret_key import GENERATE_HINT, secret_key_problem


@register(Tags.security, deploy=True)
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A published, placeholder or weak SECRET_KEY is an error, not Django's warning."""
    problem = secret_key_problem(settings.SECRET_KEY)
    if problem is None:
        return []
    return [
        Error(
            f"{problem}.",
            hint=f"Set SECRET_KEY in the environment; {GENERATE_HINT}.",
            id="relance.E001",
        )
    ]
