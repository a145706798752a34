"""/api/v1/: django-ninja's routes, one URL pattern per path (ninja makes one per
operation), each outside the login redirect (a token authenticates, not a session) and
with the Idempotency-Key handling of POSTs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from api.idempotency import idempotent
from api.main import api

app_name = "api"
# ninja's own pages (the OpenAPI document, its Swagger UI, the root) answer any method:
# GET and HEAD only.
READ_ONLY_PAGES = ("openapi-json", "openapi-view", "api-root")


def _patterns() -> list[URLPattern]:
    patterns: list[URLPattern] = []
    seen: set[str] = set()
    for pattern in api.urls[0]:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if route in seen:
            continue
        seen.add(route)
        view = idempotent(pattern.callback)
        if pattern.name in READ_ONLY_PAGES:
            view = require_safe(view)
        view = login_not_required(view)
        patterns.append(path(route, view, name=pattern.name))
    return patterns


urlpatterns = _patterns()
