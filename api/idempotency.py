"""``Idempotency-Key`` on every POST: the first answer is stored per token and key with
a fingerprint of the request (method, path, query and body); a retry with the same key
and the same request gets that answer again (``Idempotent-Replayed: true``) and creates
nothing; the same key with another request is refused (422), and a retry while the first
is still running waits for nothing (409). The key is claimed before the request runs
(a unique row), so two concurrent retries cannot both write."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from api.problems import field_error, problem, validation_problem
from core.models import ApiToken, IdempotencyRecord
from core.tokens import digest_of

HEADER = "Idempotency-Key"
# Answers not kept: nothing was decided (retrying may succeed).
TRANSIENT = {401, 409, 429}


def _token(request: HttpRequest) -> ApiToken | None:
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return ApiToken.objects.live().filter(digest=digest_of(raw.strip())).first()


def fingerprint(request: HttpRequest) -> str:
    h = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    h.update(request.body)
    return h.hexdigest()


def idempotent(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return view(request, *args, **kwargs)
        if not key.strip() or len(key) > 255 or not key.isprintable():
            return validation_problem(
                [field_error(HEADER, _("An idempotency key has 1 to 255 printable characters."))]
            )
        token = _token(request)
        if token is None:
            return view(request, *args, **kwargs)  # refused by the authentication
        print_ = fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(token=token, key=key, fingerprint=print_)
        except IntegrityError:
            first = IdempotencyRecord.objects.get(token=token, key=key)
            if first.fingerprint != print_:
                return validation_problem(
                    [
                        field_error(
                            HEADER,
                            _("This idempotency key was used for another request."),
                        )
                    ]
                )
            if first.status is None:
                return problem(
                    409,
                    "conflict",
                    _("Conflict."),
                    _("The first request with this idempotency key is still running."),
                )
            replay = HttpResponse(
                bytes(first.body), status=first.status, content_type=first.content_type
            )
            for name, value in first.headers.items():
                replay[name] = value
            replay["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            record.delete()
            raise
        if response.status_code >= 500 or response.status_code in TRANSIENT:
            record.delete()
            return response
        record.status = response.status_code
        record.content_type = response.get("Content-Type", "")
        record.body = response.content
        record.headers = {k: v for k, v in response.items() if k.lower() in ("location",)}
        record.save(update_fields=["status", "content_type", "body", "headers"])
        return response

    return wrapper
