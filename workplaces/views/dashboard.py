"""The finance dashboard: each role's home page, today's worklist with its totals, the
"see all" page of a section, and the worklist's in-place row actions.

Views parse input, fetch objects through ``visible_to`` (404 outside the user's scope),
call one service and render a fragment for htmx or redirect for a plain form post.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import access
from core.access import AnyUser, AuthenticatedHttpRequest
from core.htmx import render_page, wants_fragment
from customers.models import Activity, Customer
from receivables.models import Dispute
from receivables.selectors import bank as bank_selectors
from reminders import forms, services
from reminders.letters import workflow as letters
from reminders.models import Reminder
from workplaces.selectors import dashboard

SECTION_PAGE_SIZE = 25


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
    roles = access.roles(request.user)
    if access.FINANCE in roles:
        return redirect("workplaces:dashboard")
    if access.SALES in roles:
        return redirect("workplaces:sales")
    if access.MANAGER in roles:
        return redirect(_reports_url() or reverse("workplaces:customer_list"))
    return redirect("workplaces:customer_list")


def _require_dashboard(user: AnyUser) -> None:
    """The worklist covers the whole ledger: finance's, and managers may look at it
    (read-only, like everything)."""
    access.require(user, access.Action.VIEW_ALL)


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
                request, "workplaces/dashboard.html", {"totals": totals}, fragment="totals"
            )
    context = {
        "data": dashboard.finance_dashboard(user=request.user, today=today),
        "totals": totals,
        # The bank credits waiting for a person (one count), for those who work them.
        "bank_queue": (
            bank_selectors.queue_size() if access.may(request.user, access.Action.IMPORT) else None
        ),
    }
    return render_page(request, "workplaces/dashboard.html", context, fragment="totals")


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
        "today": today,
    }
    return render_page(request, "workplaces/dashboard_section.html", context, fragment="rows")


# --- the finance worklist's in-place actions --------------------------------------------
#
# Each row of the dashboard (workplaces/selectors/dashboard.py) posts here with htmx and gets back
# the same row re-read from its section: updated, with a message, or a short "done" line
# once it left the section. A plain post redirects back with a message.


def _row_customer(obj: dashboard.WorklistRow) -> Customer:
    if isinstance(obj, Customer):
        return obj
    if isinstance(obj, Dispute):
        return obj.invoice.customer
    return obj.customer


def _worklist_object(request: HttpRequest, section: str, pk: int, allowed: tuple[str, ...]):
    """The row's object: 404 for an unknown section, outside the user's scope or for a
    row of another kind than the section's (the id of a letter posted as a "send"), 403
    for anyone but finance staff (the worklist is theirs)."""
    if section not in allowed:
        raise Http404
    obj = get_object_or_404(dashboard.section_objects(section, user=request.user), pk=pk)
    access.require(request.user, access.Action.EDIT_LEDGER)
    return obj


def _back_url(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    # A path of this site only: anything else ("0", a URL name, a control character,
    # another host) would be reversed as a view name by redirect() or refused as a header.
    if (
        target.startswith("/")
        and target.isprintable()
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return reverse("workplaces:dashboard")


def _worklist_respond(
    request: HttpRequest,
    section: str,
    pk: int,
    *,
    message: str | None = None,
    error: str | None = None,
    form=None,
    action: str = "",
) -> HttpResponse:
    if not wants_fragment(request):
        if error or (form is not None and form.errors):
            messages.error(request, error or _("Please correct the form."))
        elif message:
            messages.success(request, message)
        return redirect(_back_url(request))
    today = timezone.localdate()
    row = dashboard.section_rows(section, user=request.user, today=today).filter(pk=pk).first()
    context = {
        "section": section,
        "message": message,
        "error": error,
        "form": form,
        "action": action,
        "today": today,
        "back": _back_url(request),
    }
    if row is None:
        name = "workplaces/_worklist_rows.html#done"
    else:
        context["item"] = dashboard.decorate(section, [row], today)[0]
        name = f"workplaces/_worklist_rows.html#{section}"
    # The row, then the dashboard's counters swapped out of band (hx-swap-oob): the item
    # may have left its section, or moved to another.
    counts = dashboard.section_counts(user=request.user, today=today)
    counters = {"counts": counts, "to_do": dashboard.to_do(counts), "oob": True}
    response = HttpResponse(
        render_to_string(name, context, request)
        + render_to_string("workplaces/_worklist_rows.html#counters", counters, request)
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def worklist_call(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    """Log a call made from the worklist; on a phone task it also closes the task."""
    obj = _worklist_object(
        request, section, pk, ("tasks", "followups", "promises", "disputes", "credit")
    )
    form = forms.WorklistCallForm(request.POST)
    if not form.is_valid():
        return _worklist_respond(request, section, pk, form=form, action="call")
    data = form.cleaned_data
    try:
        services.activity_log(
            customer=_row_customer(obj),
            user=request.user,
            kind=Activity.Kind.CALL,
            summary=_("Call: %(outcome)s") % {"outcome": data["outcome"]},
            body=data["note"],
            outcome=data["outcome"],
            next_action_date=data["next_action_date"],
            task=obj if section == "tasks" else None,
        )
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=exc.messages[0])
    return _worklist_respond(request, section, pk, message=_("Call logged."))


@require_POST
def worklist_postpone(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    """Postpone a call or a follow-up: a note with the new next action date takes its
    place on the timeline (and closes the phone task, which comes back as that follow-up
    on the day)."""
    obj = _worklist_object(request, section, pk, ("tasks", "followups"))
    form = forms.PostponeForm(request.POST)
    if not form.is_valid():
        return _worklist_respond(request, section, pk, form=form, action="postpone")
    until = form.cleaned_data["until"]
    summary = (
        _("Call postponed to %(date)s")
        if section == "tasks"
        else _("Follow-up postponed to %(date)s")
    )
    try:
        services.activity_log(
            customer=_row_customer(obj),
            user=request.user,
            kind=Activity.Kind.NOTE,
            summary=summary % {"date": date_format(until, "SHORT_DATE_FORMAT")},
            next_action_date=until,
            task=obj if section == "tasks" else None,
        )
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=exc.messages[0])
    return _worklist_respond(
        request,
        section,
        pk,
        message=_("Postponed to %(date)s.") % {"date": date_format(until, "SHORT_DATE_FORMAT")},
    )


@require_POST
def worklist_handed_over(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    """A file handed to collection: the task is closed and the timeline says so."""
    task = _worklist_object(request, section, pk, ("collection",))
    try:
        services.activity_log(
            customer=task.customer,
            user=request.user,
            kind=Activity.Kind.NOTE,
            summary=_("File handed to collection"),
            task=task,
        )
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=exc.messages[0])
    return _worklist_respond(request, section, pk, message=_("Marked as handed over."))


@require_POST
def worklist_approve(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    _worklist_object(request, section, pk, ("letters",))
    try:
        letters.letter_approve(user=request.user, reminder_id=pk)
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=" ".join(exc.messages))
    return _worklist_respond(
        request, section, pk, message=_("Letter approved: its PDF is being rendered.")
    )


@require_POST
def worklist_cancel(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    """Cancel a letter (the letters workflow) or a send that failed or never left."""
    reminder = _worklist_object(request, section, pk, ("letters", "sends"))
    form = forms.ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if section == "letters":
            letters.letter_cancel(user=request.user, reminder_id=pk, reason=reason)
        else:
            services.reminder_cancel(reminder=reminder, user=request.user, reason=reason)
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=" ".join(exc.messages))
    return _worklist_respond(request, section, pk, message=_("Cancelled."))


@require_POST
def worklist_retry(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    reminder = _worklist_object(request, section, pk, ("sends",))
    try:
        reminder = services.reminder_retry_now(reminder=reminder, user=request.user)
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=" ".join(exc.messages))
    if reminder.status == Reminder.Status.SENT:
        message = _("Sent.")
    elif reminder.status == Reminder.Status.CANCELLED:
        message = _("Cancelled instead: the amounts or the situation changed since.")
    else:
        message = _("Failed again: %(error)s") % {"error": reminder.last_error}
    return _worklist_respond(request, section, pk, message=message)


@require_POST
def worklist_mark_sent(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    """An "unknown" send checked as having left (e.g. found in the mail server's log)."""
    reminder = _worklist_object(request, section, pk, ("sends",))
    if reminder.status != Reminder.Status.UNKNOWN:
        return _worklist_respond(
            request, section, pk, error=_("Only a send whose outcome is unknown can be marked.")
        )
    try:
        services.reminder_mark_sent(reminder=reminder, user=request.user)
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=exc.messages[0])
    return _worklist_respond(request, section, pk, message=_("Marked as sent."))


@require_POST
def worklist_resolve(request: AuthenticatedHttpRequest, section: str, pk: int) -> HttpResponse:
    dispute = _worklist_object(request, section, pk, ("disputes",))
    form = forms.DisputeResolveForm(request.POST)
    form.is_valid()
    try:
        services.dispute_resolve(
            dispute=dispute, user=request.user, resolution=form.cleaned_data.get("resolution", "")
        )
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=exc.messages[0])
    return _worklist_respond(request, section, pk, message=_("Dispute resolved."))
