"""Activate each signed-in user's own interface language.

Django's ``LocaleMiddleware`` picks a language from the cookie or the browser before the
user is known; this middleware runs after ``AuthenticationMiddleware`` and, when the user
saved a preference (:class:`customers.models.UserPreferences`), activates it for the rest
of the request. ``LocaleMiddleware`` sits outside it, so the response's
``Content-Language`` reports the language actually used.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from core.access import AnyUser
from customers.models import UserPreferences


def user_language(user: AnyUser) -> str | None:
    """The language ``user`` chose, or None (anonymous, or no preference saved): one
    indexed query, so the choice made on another device applies at once."""
    if not user.is_authenticated:
        return None
    return (
        UserPreferences.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    )


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = user_language(request.user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
