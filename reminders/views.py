"""Reminder pages and manual actions, and the finance worklist's in-place actions.
Views parse input, fetch objects through ``visible_to`` (404 outside the user's scope),
call one service and render a fragment for htmx or redirect for a plain form post."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import access, dashboard
from customers.models import Activity, Customer
from customers.views import wants_fragment as _wants_fragment
from receivables.models import Dispute
from reminders import forms, letters, selectors, services
from reminders.models import Reminder


def _customer(request: HttpRequest, pk: int) -> Customer:
    return get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _customer_url(customer: Customer) -> str:
    try:
        return customer.get_absolute_url()
    except NoReverseMatch:
        return reverse("reminders:customer_actions", args=[customer.pk])


def _panel_context(request: HttpRequest, customer: Customer, **forms_given) -> dict:
    user = request.user
    context = {
        "customer": customer,
        "can_send": access.can_edit_ledger(user),
        "can_note": access.can_add_notes(user),
        "open_disputes": list(
            Dispute.objects.visible_to(user)
            .open()
            .filter(invoice__customer=customer)
            .select_related("invoice")
        ),
        "call_form": forms.CallLogForm(),
        "promise_form": forms.PromiseForm(customer=customer),
        "pause_form": forms.PauseForm(initial={"until": customer.reminders_paused_until}),
        "dispute_form": forms.DisputeOpenForm(customer=customer),
        "resolve_form": forms.DisputeResolveForm(),
    }
    context.update(forms_given)
    return context


def _respond(
    request: HttpRequest, customer: Customer, fragment: str, context: dict, ok: str | None
) -> HttpResponse:
    """htmx: the form's fragment again (with the message or errors); else redirect to the
    customer page, with the message."""
    if _wants_fragment(request) or ok is None:
        context = _panel_context(request, customer, **context) | {"message": ok}
        response = render(request, fragment, context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    messages.success(request, ok)
    return redirect(_customer_url(customer))


@require_GET
def customer_actions(request: HttpRequest, pk: int) -> HttpResponse:
    """The actions panel of a customer (loaded by ``_customer_actions.html``)."""
    customer = _customer(request, pk)
    response = render(request, "reminders/_actions_panel.html", _panel_context(request, customer))
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def send_now(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    _require(access.can_edit_ledger(request.user))
    try:
        reminder = services.reminder_send_now(customer=customer, user=request.user)
    except ValidationError as exc:
        return _respond(
            request, customer, "reminders/_send_now_form.html", {"error": exc.messages[0]}, None
        )
    if reminder.status == Reminder.Status.SENT:
        ok = _("Reminder sent to %(to)s.") % {"to": ", ".join(reminder.recipients.get("to", []))}
    else:
        ok = _("The reminder could not be sent (%(error)s); the next run retries it.") % {
            "error": reminder.last_error
        }
    return _respond(request, customer, "reminders/_send_now_form.html", {}, ok)


@require_http_methods(["GET", "POST"])
def log_call(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    _require(access.can_add_notes(request.user))
    form = forms.CallLogForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.activity_log(customer=customer, user=request.user, **form.cleaned_data)
        return _respond(request, customer, "reminders/_call_form.html", {}, _("Logged."))
    return _respond(request, customer, "reminders/_call_form.html", {"call_form": form}, None)


@require_http_methods(["GET", "POST"])
def record_promise(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    _require(access.can_add_notes(request.user))
    form = forms.PromiseForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.promise_record(
            customer=customer,
            user=request.user,
            promised_date=data["promised_date"],
            amount=data["amount"],
            invoices=list(data["invoices"]),
            note=data["note"],
        )
        return _respond(
            request, customer, "reminders/_promise_form.html", {}, _("Promise recorded.")
        )
    return _respond(request, customer, "reminders/_promise_form.html", {"promise_form": form}, None)


@require_http_methods(["GET", "POST"])
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    _require(access.can_edit_ledger(request.user))
    form = forms.PauseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.reminders_pause(
            customer=customer,
            user=request.user,
            until=form.cleaned_data["until"],
            note=form.cleaned_data["note"],
        )
        return _respond(request, customer, "reminders/_pause_form.html", {}, _("Saved."))
    return _respond(request, customer, "reminders/_pause_form.html", {"pause_form": form}, None)


@require_http_methods(["GET", "POST"])
def open_dispute(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    _require(access.can_edit_ledger(request.user))
    form = forms.DisputeOpenForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.dispute_open(
            invoice=data["invoice"],
            user=request.user,
            reason=data["reason"],
            description=data["description"],
        )
        return _respond(request, customer, "reminders/_dispute_form.html", {}, _("Dispute opened."))
    return _respond(request, customer, "reminders/_dispute_form.html", {"dispute_form": form}, None)


@require_POST
def resolve_dispute(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = get_object_or_404(
        Dispute.objects.visible_to(request.user).select_related("invoice__customer"), pk=pk
    )
    customer = dispute.invoice.customer
    _require(access.can_edit_ledger(request.user))
    form = forms.DisputeResolveForm(request.POST)
    form.is_valid()
    try:
        services.dispute_resolve(
            dispute=dispute, user=request.user, resolution=form.cleaned_data.get("resolution", "")
        )
    except ValidationError as exc:
        return _respond(
            request, customer, "reminders/_dispute_form.html", {"error": exc.messages[0]}, None
        )
    return _respond(request, customer, "reminders/_dispute_form.html", {}, _("Dispute resolved."))


@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    """What the next runs would send, from tomorrow, day by day; nothing is sent."""
    today = timezone.localdate()
    data = selectors.reminders_preview(
        user=request.user, start=today + datetime.timedelta(days=1), days=7
    )
    return render(request, "reminders/preview.html", {"preview": data, "today": today})


# --- the finance worklist's in-place actions --------------------------------------------
#
# Each row of the dashboard (customers/dashboard.py) posts here with htmx and gets back
# the same row re-read from its section: updated, with a message, or a short "done" line
# once it left the section. A plain post redirects back with a message.


def _row_customer(obj: Model) -> Customer:
    if isinstance(obj, Customer):
        return obj
    if isinstance(obj, Dispute):
        return obj.invoice.customer
    return obj.customer


def _worklist_object(request: HttpRequest, section: str, pk: int, allowed: tuple[str, ...]):
    """The row's object: 404 for an unknown section or outside the user's scope, 403 for
    anyone but finance staff (the worklist is theirs)."""
    if section not in allowed:
        raise Http404
    model = dashboard.SECTION_MODELS[section]
    obj = get_object_or_404(model.objects.visible_to(request.user), pk=pk)
    _require(access.can_edit_ledger(request.user))
    return obj


def _back_url(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("customers:dashboard")


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
    if not _wants_fragment(request):
        if error or (form is not None and form.errors):
            messages.error(request, error or _("Please correct the form."))
        elif message:
            messages.success(request, message)
        return redirect(_back_url(request))
    today = timezone.localdate()
    row = dashboard.section_rows(section, user=request.user, today=today).filter(pk=pk).first()
    context = {
        "section": section,
        "can_act": True,
        "message": message,
        "error": error,
        "form": form,
        "action": action,
        "today": today,
        "back": _back_url(request),
    }
    if row is None:
        name = "reminders/_worklist_rows.html#done"
    else:
        context["item"] = dashboard.decorate(section, [row], today)[0]
        name = f"reminders/_worklist_rows.html#{section}"
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def worklist_call(request: HttpRequest, section: str, pk: int) -> HttpResponse:
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
def worklist_postpone(request: HttpRequest, section: str, pk: int) -> HttpResponse:
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
def worklist_handed_over(request: HttpRequest, section: str, pk: int) -> HttpResponse:
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
def worklist_approve(request: HttpRequest, section: str, pk: int) -> HttpResponse:
    _worklist_object(request, section, pk, ("letters",))
    try:
        letters.letter_approve(user=request.user, reminder_id=pk)
    except ValidationError as exc:
        return _worklist_respond(request, section, pk, error=" ".join(exc.messages))
    return _worklist_respond(
        request, section, pk, message=_("Letter approved: its PDF is being rendered.")
    )


@require_POST
def worklist_cancel(request: HttpRequest, section: str, pk: int) -> HttpResponse:
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
def worklist_retry(request: HttpRequest, section: str, pk: int) -> HttpResponse:
    reminder = _worklist_object(request, section, pk, ("sends",))
    try:
        reminder = dashboard.reminder_retry_now(reminder=reminder, user=request.user)
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
def worklist_mark_sent(request: HttpRequest, section: str, pk: int) -> HttpResponse:
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
def worklist_resolve(request: HttpRequest, section: str, pk: int) -> HttpResponse:
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
