"""The customer pages: the sales rep's view, the customer list (with htmx live search)
and the customer page.

Views only parse input, call a selector and render; every customer is fetched through
``Customer.objects.visible_to(request.user)`` (in the selectors), so a customer outside
the user's scope answers 404; what a role may not do at all answers 403.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from core import audit
from core.htmx import render_page, wants_fragment
from customers.models import Customer
from workplaces.forms import CustomerFilterForm, SalesFilterForm
from workplaces.selectors import customers as selectors
from workplaces.selectors import history, sales

PAGE_SIZE = 50
SECTION_PAGE_SIZE = 25


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
def sales_view(request: HttpRequest) -> HttpResponse:
    """A sales rep's clients, riskiest first; finance and managers may pick a rep."""
    form = SalesFilterForm(request.GET, user=request.user)
    today = timezone.localdate()
    customers = sales.sales_customers(user=request.user, today=today, rep_id=form.rep_id())
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    sales.next_steps(page.object_list, today)
    context = {
        "form": form,
        "page": page,
        "today": today,
    }
    return render_page(request, "workplaces/sales.html", context, fragment="table")


@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET)
    filters = form.filters()
    today = timezone.localdate()
    page = selectors.customer_list_page(
        user=request.user,
        as_of=today,
        page_number=request.GET.get("page"),
        page_size=PAGE_SIZE,
        **filters,
    )
    context = {
        "form": form,
        "page": page,
        "sort": filters["sort"],
        "sorting": sort_links(filters["sort"]),
        "as_of": today,
    }
    return render_page(request, "workplaces/customer_list.html", context, fragment="table")


def _page_number(value: str | None) -> int:
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1


@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer page. ``timeline`` and ``log`` pick the page of the timeline and of
    the reminder log; htmx asks for one of them alone (``part``), and only that is read."""
    timeline_page = _page_number(request.GET.get("timeline"))
    log_page = request.GET.get("log")
    part = request.GET.get("part")
    if wants_fragment(request) and part in ("timeline", "reminder_log"):
        customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
        context: dict = {"c": customer}
        if part == "timeline":
            context["timeline"] = selectors.customer_timeline(customer=customer, page=timeline_page)
        else:
            context["reminder_log"] = selectors.reminder_log_page(customer=customer, page=log_page)
        return render_page(request, "workplaces/customer_detail.html", context, fragment=part)
    today = timezone.localdate()
    customers = selectors.customer_for_page(Customer.objects.visible_to(request.user), as_of=today)
    customer = get_object_or_404(customers, pk=pk)
    data = selectors.customer_page(
        customer=customer, as_of=today, timeline_page=timeline_page, log_page=log_page
    )
    context = {
        "data": data,
        "c": customer,
        "timeline": data.timeline,
        "reminder_log": data.reminder_log,
    }
    response = render(request, "workplaces/customer_detail.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Who changed what on the customer, its contacts and its invoices (the audit trail,
    recorded on PostgreSQL only). Anyone who sees the customer sees its history."""
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    context = {
        "c": customer,
        "recorded": audit.recorded(),
        "changes": history.customer_history(customer=customer),
        "limit": history.HISTORY_LIMIT,
    }
    return render(request, "workplaces/customer_history.html", context)
