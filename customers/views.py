"""Customer pages: the home page of each role, the finance dashboard, the sales rep's
view, the customer list (with htmx live search), the customer page and the user's
preferences.

Views only parse input, call a selector and render; every customer is fetched through
``Customer.objects.visible_to(request.user)`` (in the selectors), so a customer outside
the user's scope answers 404; what a role may not do at all answers 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from customers import access, dashboard, selectors
from customers.forms import CustomerFilterForm, PreferencesForm, SalesFilterForm
from customers.models import Customer

PAGE_SIZE = 50
SECTION_PAGE_SIZE = 25


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


def _reports_url() -> str | None:
    """The manager's KPI page, when the reports app is mounted."""
    try:
        return reverse("reports:home")
    except NoReverseMatch:
        return None


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts where its work is: finance staff on the dashboard, a sales rep on
    their clients, a manager on the KPIs; anyone else on the customer list."""
    user = request.user
    if access.is_finance(user):
        return redirect("customers:dashboard")
    if access.is_sales(user):
        return redirect("customers:sales")
    if access.is_manager(user):
        return redirect(_reports_url() or reverse("customers:list"))
    return redirect("customers:list")


def _require_dashboard(user) -> None:
    """The worklist is finance's; managers may look at it (read-only, like everything)."""
    if not access.sees_all_customers(user):
        raise PermissionDenied


@require_GET
def finance_dashboard(request: HttpRequest) -> HttpResponse:
    """Today's worklist; the totals and their trend (the slow part on a large ledger)
    follow in a second request (``part=totals``, htmx on load, or a plain link)."""
    _require_dashboard(request.user)
    today = timezone.localdate()
    totals = None
    if request.GET.get("part") == "totals":
        totals = dashboard.dashboard_totals(user=request.user, today=today)
        if wants_fragment(request):
            return render_page(
                request, "customers/dashboard.html", {"totals": totals}, fragment="totals"
            )
    context = {
        "data": dashboard.finance_dashboard(user=request.user, today=today),
        "totals": totals,
        "can_act": access.can_edit_ledger(request.user),
    }
    return render_page(request, "customers/dashboard.html", context, fragment="totals")


@require_GET
def dashboard_section(request: HttpRequest, section: str) -> HttpResponse:
    """Every item of one worklist section ("see all"), paginated, with the same actions."""
    _require_dashboard(request.user)
    if section not in dashboard.SECTION_KEYS:
        raise Http404
    today = timezone.localdate()
    rows = dashboard.section_rows(section, user=request.user, today=today)
    page = Paginator(rows, SECTION_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "section": section,
        "title": dashboard.SECTION_TITLES[section],
        "page": page,
        "items": dashboard.decorate(section, page.object_list, today),
        "can_act": access.can_edit_ledger(request.user),
        "today": today,
    }
    return render_page(request, "customers/dashboard_section.html", context, fragment="rows")


@require_GET
def sales_view(request: HttpRequest) -> HttpResponse:
    """A sales rep's clients, riskiest first; finance and managers may pick a rep."""
    form = SalesFilterForm(request.GET, user=request.user)
    today = timezone.localdate()
    customers = dashboard.sales_customers(user=request.user, today=today, rep_id=form.rep_id())
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    dashboard.next_steps(page.object_list, today)
    context = {
        "form": form,
        "page": page,
        "today": today,
        "can_note": access.can_add_notes(request.user),
        "show_filter": access.sees_all_customers(request.user),
    }
    return render_page(request, "customers/sales.html", context, fragment="table")


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
    return render_page(request, "customers/customer_list.html", context, fragment="table")


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
        return render_page(request, "customers/customer_detail.html", context, fragment=part)
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
    response = render(request, "customers/customer_detail.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The user's own settings; the language applies from the next page on."""
    form = PreferencesForm(request.POST or None, instance=selectors.preferences_of(request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Preferences saved."))
        return redirect("customers:preferences")
    return render(request, "customers/preferences.html", {"form": form})


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The header's language buttons: remember the choice for a signed-in user (so it
    follows them to any device), then let Django set the cookie and go back."""
    if request.user.is_authenticated:
        form = PreferencesForm(
            {"language": request.POST.get("language")},
            instance=selectors.preferences_of(request.user),
        )
        if form.is_valid():
            form.save()
    return set_language(request)
