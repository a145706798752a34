"""Bearer tokens: ``Authorization: Bearer <token>`` (core.tokens). The token acts as its
user: what they may see (``visible_to``) and do (``core.access.may``), less any write
when it is read-only. Each token has its rate limit, checked here before anything else."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.problems import RateLimited
from core import access, tokens
from core.access import Action
from core.models import ApiToken

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class TokenAuth(HttpBearer):
    """The token of a request; ``action``: the right a write needs (None: reads)."""

    def __init__(self, action: Action | None = None) -> None:
        super().__init__()
        self.action = action

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = tokens.token_authenticate(token)
        if found is None:
            return None
        if (retry_after := tokens.rate_limited(found)) is not None:
            raise RateLimited(retry_after)
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        if request.method not in SAFE_METHODS:
            if found.read_only:
                raise PermissionDenied(_("This token is read-only."))
            if self.action is not None:
                access.require(found.user, self.action)
        return found


READ = TokenAuth()
WRITE = TokenAuth(Action.EDIT_LEDGER)
NOTES = TokenAuth(Action.ADD_NOTES)
IMPORT = TokenAuth(Action.IMPORT)


def user_of(request: HttpRequest) -> Any:
    """The user the request's token acts for."""
    return request.auth.user  # type: ignore[attr-defined]
