"""Customer pages: the list (with htmx live search) and the customer page.

Views only parse input, call a selector and render; every customer is fetched through
``Customer.objects.visible_to(request.user)`` (in the selectors), so a customer outside
the user's scope answers 404.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from customers import selectors
from customers.forms import CustomerFilterForm
from customers.models import Customer

PAGE_SIZE = 50


def wants_fragment(request: HttpRequest) -> bool:
    """True for an htmx request that swaps part of the page. Boosted navigations and
    history restores (a cache miss after back/refresh) need the whole page, or the
    browser would show a bare fragment."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(
    request: HttpRequest, template: str, context: dict, *, fragment: str
) -> HttpResponse:
    """Render ``template``, or only its ``{% partialdef fragment %}`` for htmx swaps.
    The response varies on HX-Request so that no cache serves one for the other."""
    name = f"{template}#{fragment}" if wants_fragment(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def sort_links(current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the ``sort`` value its header link sets, and its
    ``aria-sort`` state. Amount columns sort largest first on the first click."""
    links = {}
    for key, largest_first in (("name", False), ("balance", True), ("overdue", True)):
        if current == key:
            links[key] = {"next": f"-{key}", "state": "ascending"}
        elif current == f"-{key}":
            links[key] = {"next": key, "state": "descending"}
        else:
            links[key] = {"next": f"-{key}" if largest_first else key, "state": "none"}
    return links


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # A finance dashboard will take this place; until then the customer list is home.
    return redirect("customers:list")


@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET)
    filters = form.filters()
    today = timezone.localdate()
    customers = selectors.customer_list(user=request.user, as_of=today, **filters)
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "sort": filters["sort"],
        "sorting": sort_links(filters["sort"]),
        "as_of": today,
    }
    return render_page(request, "customers/customer_list.html", context, fragment="table")


@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    today = timezone.localdate()
    customers = selectors.customer_for_page(Customer.objects.visible_to(request.user), as_of=today)
    customer = get_object_or_404(customers, pk=pk)
    data = selectors.customer_page(customer=customer, as_of=today)
    return render(request, "customers/customer_detail.html", {"data": data, "c": customer})
