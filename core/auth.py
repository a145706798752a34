"""Login throttling (django-axes) adapted to how Relance is deployed.

- :class:`LoginThrottleBackend` is axes' standalone backend, first in
  ``AUTHENTICATION_BACKENDS``: a username and client address that failed
  ``AXES_FAILURE_LIMIT`` times are refused for ``AXES_COOLOFF_TIME`` *before* the next
  backend checks the password, so a locked-out attempt costs no password hash. Code that
  authenticates without a web request (the test client's ``login``, a management
  command) has no client address to throttle and goes straight to the password check.
- :func:`client_ip` is the address attempts are counted by: ``REMOTE_ADDR``, unless
  ``TRUSTED_PROXY_COUNT`` reverse proxies stand in front of the application, in which
  case it is the address the outermost of them saw (each proxy appends the address it
  received the request from to ``X-Forwarded-For``, so the n-th entry from the right).
  Entries further left were written by the client and are never trusted.
- :func:`lockout_response` is the translated page of a locked-out login (HTTP 429).
- :class:`PasswordResetConfirmView`: Django's, which also lifts the account's lockout
  once a new password is set through the emailed link (the lockout page offers it).
"""

from __future__ import annotations

import math
from ipaddress import ip_address
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.utils import reset as reset_attempts
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKOUT_TEMPLATE = "registration/locked_out.html"


class LoginThrottleBackend(AxesStandaloneBackend):
    """axes' lockout check, for web requests only (see the module's docstring)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def _valid(address: str) -> str | None:
    try:
        return str(ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address for login throttling (see the module's docstring)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies: int = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [
            part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        if len(forwarded) >= proxies:
            address = _valid(forwarded[-proxies])
            if address:
                return address
    return _valid(remote) or remote


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The page a locked-out login gets (axes' ``AXES_LOCKOUT_CALLABLE``): 429, translated,
    saying how long to wait and offering the password reset."""
    cooloff = settings.AXES_COOLOFF_TIME
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": math.ceil(cooloff.total_seconds() / 60) if cooloff else 0,
    }
    return render(request, LOCKOUT_TEMPLATE, context, status=429)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view; setting the new password also clears the user's failed attempts."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        reset_attempts(username=form.user.get_username())
        return response
