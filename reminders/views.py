"""Reminder pages and manual actions on a customer (the actions panel).
Views parse input, fetch objects through ``visible_to`` (404 outside the user's scope),
call one service and render a fragment for htmx or redirect for a plain form post."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import access
from core.access import AuthenticatedHttpRequest
from core.confirm import asks_confirmation
from core.htmx import wants_fragment as _wants_fragment
from customers.models import Customer
from receivables.models import Dispute
from reminders import forms, selectors, services
from reminders.emails import load_recipients
from reminders.models import Reminder, ScenarioStep


def _customer(request: HttpRequest, pk: int) -> Customer:
    return get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)


def _customer_url(customer: Customer) -> str:
    try:
        return customer.get_absolute_url()
    except NoReverseMatch:
        return reverse("reminders:customer_actions", args=[customer.pk])


def _panel_context(request: HttpRequest, customer: Customer, **forms_given) -> dict:
    user = request.user
    context = {
        "customer": customer,
        "open_disputes": list(
            Dispute.objects.visible_to(user)
            .open()
            .filter(invoice__customer=customer)
            .select_related("invoice")
        ),
        "call_form": forms.CallLogForm(),
        "promise_form": forms.PromiseForm(customer=customer),
        # A pause already over is not offered again (a day in the past is refused).
        "pause_form": forms.PauseForm(
            initial={"until": customer.reminders_paused_until}
            if customer.reminders_paused_on(timezone.localdate())
            else {}
        ),
        "send_now_form": forms.SendNowForm(),
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
def send_now(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    access.require(request.user, access.Action.EDIT_LEDGER)
    form = forms.SendNowForm(request.POST)
    form.is_valid()
    try:
        reminder = services.reminder_send_now(
            customer=customer, user=request.user, confirmed=form.confirmed
        )
    except ValidationError as exc:
        if asks_confirmation(exc):
            form.ask_confirmation(exc)
            return _respond(
                request, customer, "reminders/_send_now_form.html", {"send_now_form": form}, None
            )
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
def log_call(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    access.require(request.user, access.Action.ADD_NOTES)
    form = forms.CallLogForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.activity_log(customer=customer, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _respond(request, customer, "reminders/_call_form.html", {}, _("Logged."))
    return _respond(request, customer, "reminders/_call_form.html", {"call_form": form}, None)


@require_http_methods(["GET", "POST"])
def record_promise(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    access.require(request.user, access.Action.ADD_NOTES)
    form = forms.PromiseForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.promise_record(
                customer=customer,
                user=request.user,
                promised_date=data["promised_date"],
                amount=data["amount"],
                invoices=list(data["invoices"]),
                note=data["note"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _respond(
                request, customer, "reminders/_promise_form.html", {}, _("Promise recorded.")
            )
    return _respond(request, customer, "reminders/_promise_form.html", {"promise_form": form}, None)


@require_http_methods(["GET", "POST"])
def pause(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    access.require(request.user, access.Action.EDIT_LEDGER)
    form = forms.PauseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reminders_pause(
                customer=customer,
                user=request.user,
                until=form.cleaned_data["until"],
                note=form.cleaned_data["note"],
                confirmed=form.confirmed,
            )
        except ValidationError as exc:
            if asks_confirmation(exc):
                form.ask_confirmation(exc)
            else:
                form.add_error(None, exc)
        else:
            return _respond(request, customer, "reminders/_pause_form.html", {}, _("Saved."))
    return _respond(request, customer, "reminders/_pause_form.html", {"pause_form": form}, None)


@require_http_methods(["GET", "POST"])
def open_dispute(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    access.require(request.user, access.Action.EDIT_LEDGER)
    form = forms.DisputeOpenForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.dispute_open(
                invoice=data["invoice"],
                user=request.user,
                reason=data["reason"],
                description=data["description"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _respond(
                request, customer, "reminders/_dispute_form.html", {}, _("Dispute opened.")
            )
    return _respond(request, customer, "reminders/_dispute_form.html", {"dispute_form": form}, None)


@require_POST
def resolve_dispute(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    dispute = get_object_or_404(
        Dispute.objects.visible_to(request.user).select_related("invoice__customer"), pk=pk
    )
    customer = dispute.invoice.customer
    access.require(request.user, access.Action.EDIT_LEDGER)
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


PREVIEW_DAYS = 7
PREVIEW_PAGE_SIZE = 50


@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    """What the next runs would send, from tomorrow: counts per day and step, the
    customers of one day (paginated), and one customer's days on demand
    (``?customer=<id>``); nothing is sent. A parameter that does not parse is ignored."""
    today = timezone.localdate()
    start = today + datetime.timedelta(days=1)
    days = [start + datetime.timedelta(days=n) for n in range(PREVIEW_DAYS)]
    context: dict = {"today": today, "days": days}
    customer_pk = _int_param(request, "customer")
    if customer_pk is not None:
        customer = _customer(request, customer_pk)
        context |= {
            "customer": customer,
            "preview": selectors.reminders_preview(
                user=request.user, start=start, days=PREVIEW_DAYS, customer_id=customer.pk
            ),
        }
        return render(request, "reminders/preview_customer.html", context)
    list_day = _date_param(request, "day")
    summary = selectors.reminders_preview_summary(
        user=request.user,
        start=start,
        days=PREVIEW_DAYS,
        list_day=list_day if list_day in days else None,
    )
    page = Paginator(summary.lines, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    recipients = load_recipients(
        {line.customer_id for line in page if line.action == ScenarioStep.Action.EMAIL}
    )
    context |= {
        "summary": summary,
        "page": page,
        "lines": [(line, recipients.get(line.customer_id)) for line in page],
    }
    response = render(request, "reminders/preview.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _date_param(request: HttpRequest, name: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None
