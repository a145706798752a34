"""Personal API tokens: created and revoked by their user, shown once, kept hashed.

A token is ``rel_`` and 43 random URL-safe characters (256 bits): only its SHA-256 is
stored, so a stolen database gives no usable token, and a hash of that much entropy needs
no slow password hash. Each token has its own rate limit (:func:`rate_limited`), counted
in Django's cache over a fixed window (``API_RATE_LIMIT`` requests per
``API_RATE_WINDOW`` seconds).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import ApiToken, IdempotencyRecord

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TOKEN_PREFIX = "rel_"  # noqa: S105  (the visible prefix, no secret)
# last_used_at is written at most this often per token (not one UPDATE per request).
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    read_only: bool = False,
    expires_on: datetime.date | None = None,
) -> tuple[ApiToken, str]:
    """A new token of ``user``; returns it with its secret, which is never stored (shown
    once). ``expires_on``: the last day it works (end of that day, local time)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    expires_at = None
    if expires_on is not None:
        if expires_on < timezone.localdate():
            raise ValidationError({"expires_on": _("The expiry date cannot be in the past.")})
        expires_at = timezone.make_aware(
            datetime.datetime.combine(expires_on + datetime.timedelta(days=1), datetime.time.min)
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=digest_of(raw),
        read_only=read_only,
        expires_at=expires_at,
    )
    return token, raw


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked, newest first."""
    return list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens (another's answers as not found)."""
    token = ApiToken.objects.select_for_update().get(
        pk=token_id, user=user, revoked_at__isnull=True
    )
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token whose secret is ``raw``, its last use recorded; None otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = ApiToken.objects.live().select_related("user").filter(digest=digest_of(raw)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def rate_limited(token: ApiToken) -> int | None:
    """Count one request of ``token``; the seconds to wait when it is over its limit
    for the current window, None while it is within it."""
    limit = int(getattr(settings, "API_RATE_LIMIT", 600))
    window = max(1, int(getattr(settings, "API_RATE_WINDOW", 60)))
    now = int(timezone.now().timestamp())
    start = now - now % window
    key = f"api-rate:{token.pk}:{start}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return max(1, start + window - now)
    return None


# How long the first answer to an Idempotency-Key is kept (a retry comes within hours).
IDEMPOTENCY_DAYS = 7


def idempotency_purge() -> int:
    """The daily schedule's task: forget the answers kept for idempotency keys older
    than :data:`IDEMPOTENCY_DAYS`. Returns how many were forgotten."""
    limit = timezone.now() - datetime.timedelta(days=IDEMPOTENCY_DAYS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=limit).delete()
    return deleted
