"""Errors as RFC 9457 problem details (``application/problem+json``): ``type``,
``title``, ``status``, ``detail`` and, for a refused payload, ``errors``: one entry per
bad field (``field``, its JSON pointer and the message). Every refusal of the API goes
through here, so an integrator parses one shape."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

PROBLEM_TYPE = "urn:relance:problem:"
CONTENT_TYPE = "application/problem+json"


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after


class Conflict(Exception):
    """A request that clashes with another (an idempotency key in use)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail


def problem(
    status: int,
    kind: str,
    title: str,
    detail: str = "",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + kind,
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_error(field: str | None, message: str) -> dict[str, Any]:
    pointer = "#/" + field.replace(".", "/") if field else "#"
    return {"field": field, "pointer": pointer, "detail": message}


def validation_problem(errors: list[dict[str, Any]], detail: str = "") -> HttpResponse:
    return problem(
        422,
        "validation",
        _("The request is not valid."),
        detail or "; ".join(f"{e['field'] or '-'}: {e['detail']}" for e in errors),
        errors=errors,
    )


def _django_errors(error: DjangoValidationError, fields: dict[str, str]) -> list[dict[str, Any]]:
    """A service's refusal, its fields named as the API names them (``fields`` maps a
    model field to the API's)."""
    found: list[dict[str, Any]] = []
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            field = None if name == "__all__" else fields.get(name, name)
            for e in errors:
                found.extend(field_error(field, m) for m in e.messages)
    else:
        found.extend(field_error(None, m) for m in error.messages)
    return found


def refused(error: DjangoValidationError, fields: dict[str, str] | None = None) -> HttpResponse:
    return validation_problem(_django_errors(error, fields or {}))


def _pydantic_field(loc: Iterable[Any]) -> str | None:
    parts = [str(p) for p in loc]
    # ("body", "payload", "amount") → "amount"; ("query", "limit") → "limit"
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    elif parts and parts[0] in ("query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    return ".".join(parts) or None


def install(api: NinjaAPI) -> None:
    """Make every error of ``api`` a problem document."""

    @api.exception_handler(NinjaValidationError)
    def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [
            field_error(_pydantic_field(e.get("loc", ())), str(e.get("msg", "")))
            for e in exc.errors
        ]
        return validation_problem(errors)

    @api.exception_handler(DjangoValidationError)
    def _refused(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return refused(exc)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return problem(
            401,
            "unauthenticated",
            _("Authentication required."),
            _("Send a valid API token: Authorization: Bearer <token>."),
            headers={"WWW-Authenticate": 'Bearer realm="relance"'},
        )

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:
            return problem(400, "malformed", _("The request body is not valid JSON."))
        return problem(exc.status_code, "http", str(exc))

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(404, "not-found", _("Not found."))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem(403, "forbidden", _("Forbidden."), str(exc) or _("Forbidden."))

    @api.exception_handler(RateLimited)
    def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        return problem(
            429,
            "rate-limited",
            _("Too many requests."),
            _("This token is over its rate limit: try again in %(seconds)s seconds.")
            % {"seconds": exc.retry_after},
            headers={"Retry-After": str(exc.retry_after)},
        )

    @api.exception_handler(Conflict)
    def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
        return problem(409, "conflict", _("Conflict."), exc.detail)

    @api.exception_handler(IntegrityError)
    def _integrity(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        return problem(
            409,
            "conflict",
            _("Conflict."),
            _("The ledger refused this change (a duplicate, or a rule of the database)."),
        )
