"""htmx helpers: one page template per view, its fragments as ``{% partialdef %}``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest) -> bool:
    """True for an htmx request that swaps part of the page. Boosted navigations and
    history restores (a cache miss after back/refresh) need the whole page, or the
    browser would show a bare fragment."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted and not htmx.history_restore_request


def render_page(
    request: HttpRequest, template: str, context: dict, *, fragment: str
) -> HttpResponse:
    """Render ``template``, or only its ``{% partialdef fragment %}`` for htmx swaps.
    The response varies on HX-Request so that no cache serves one for the other."""
    name = f"{template}#{fragment}" if wants_fragment(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
