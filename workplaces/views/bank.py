"""The bank matching queue (``/imports/bank/``, finance staff only): every incoming credit
the import could not allocate alone, with the invoices it may pay and why, and what a
person does with it (confirm a proposal, split, give it to a customer, set it aside);
below, the lines set aside and the direct debits returned lately.

Each action posts with htmx and gets back the line's own row, re-read: its outcome, or
the row again with the refusal. A plain post redirects back to the page with a message.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import access
from core.access import AnyUser, AuthenticatedHttpRequest
from core.htmx import render_page, wants_fragment
from customers.models import Customer
from receivables import services
from receivables.models import BankTransaction
from receivables.selectors import bank as selectors
from workplaces.forms import bank as bank_forms

TEMPLATE = "workplaces/imports/bank_queue.html"
# Returned direct debits shown on the page: those booked in the last days.
RETURNS_DAYS = 30


def _split_rows(lines: list[selectors.QueueLine], data: Any = None) -> None:
    """The split form's rows of each line: what was typed (after a refusal), else the
    proposed invoices' numbers."""
    for q in lines:
        if data is not None:
            rows = [
                (i, data.get(f"invoice_{i}", ""), data.get(f"amount_{i}", ""))
                for i in range(bank_forms.SPLIT_ROWS)
            ]
        else:
            numbers = [p.invoice.number for p in q.proposals][: bank_forms.SPLIT_ROWS]
            numbers += [""] * (bank_forms.SPLIT_ROWS - len(numbers))
            rows = [(i, number, "") for i, number in enumerate(numbers)]
        q.split_rows = rows  # type: ignore[attr-defined]  # for the template


def _require(user: AnyUser) -> None:
    access.require(user, access.Action.IMPORT)


def _customers() -> list[tuple[str, str]]:
    """(reference, name) of every customer, for the reassign field's suggestions."""
    return list(Customer.objects.order_by("name").values_list("customer_ref", "name"))


@require_GET
def bank_queue(request: HttpRequest) -> HttpResponse:
    _require(request.user)
    today = timezone.localdate()
    since = today - datetime.timedelta(days=RETURNS_DAYS)
    lines = selectors.match_queue(user=request.user)
    _split_rows(lines)
    context = {
        "lines": lines,
        "count": len(lines),
        "set_aside": selectors.set_aside_lines(user=request.user),
        "returns": selectors.recent_returns(user=request.user, since=since),
        "returns_since": since,
        "customers": _customers(),
    }
    return render_page(request, TEMPLATE, context, fragment="queue")


def _line(pk: int) -> BankTransaction:
    return get_object_or_404(BankTransaction, pk=pk)


def _respond(
    request: HttpRequest,
    line: BankTransaction,
    *,
    message: str = "",
    error: str = "",
    action: str = "",
    form: forms.Form | None = None,
) -> HttpResponse:
    """The line's row after an action (its outcome, or the row again with the refusal),
    with the queue's count swapped out of band; a plain post goes back to the page."""
    if not wants_fragment(request):
        if error:
            messages.error(request, error)
        elif message:
            messages.success(request, message)
        return redirect("imports:bank_queue")
    line.refresh_from_db()
    context: dict[str, Any] = {
        "message": message,
        "error": error,
        "action": action,
        "form": form,
    }
    if line.status == BankTransaction.Status.UNMATCHED:
        queued = selectors.match_queue(user=request.user, only=[line.pk])
        _split_rows(queued, request.POST if action == "split" else None)
        context["q"] = queued[0]
        name = f"{TEMPLATE}#line"
    elif line.status == BankTransaction.Status.IGNORED:
        context["t"] = line
        name = f"{TEMPLATE}#aside"
    else:
        context["t"] = line
        name = f"{TEMPLATE}#outcome"
    html = render_to_string(name, context, request)
    html += render_to_string(
        f"{TEMPLATE}#count", {"count": selectors.queue_size(), "oob": True}, request
    )
    response = HttpResponse(html)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _form_error(form: forms.Form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _refused(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_POST
def bank_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Confirm a proposal: the credit pays that invoice."""
    _require(request.user)
    line = _line(pk)
    form = bank_forms.ConfirmForm(request.POST, user=request.user)
    if not form.is_valid():
        return _respond(request, line, error=_form_error(form))
    invoice = form.cleaned_data["invoice"]
    try:
        services.bank_transaction_confirm(transaction=line, invoice=invoice, user=request.user)
    except ValidationError as error:
        return _respond(request, line, error=_refused(error))
    return _respond(
        request,
        line,
        message=_("Matched to %(number)s.") % {"number": invoice.number},
    )


@require_POST
def bank_split(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Split the credit across invoices of one customer."""
    _require(request.user)
    line = _line(pk)
    form = bank_forms.SplitForm(request.POST, user=request.user)
    if not form.is_valid():
        return _respond(request, line, error=_form_error(form), action="split", form=form)
    try:
        services.bank_transaction_split(
            transaction=line, allocations=form.allocations, user=request.user
        )
    except ValidationError as error:
        return _respond(request, line, error=_refused(error), action="split", form=form)
    return _respond(
        request,
        line,
        message=_("Split across %(numbers)s.")
        % {"numbers": ", ".join(i.number for i in form.allocations)},
    )


@require_POST
def bank_assign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Give the credit to a customer as unallocated credit."""
    _require(request.user)
    line = _line(pk)
    form = bank_forms.AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        return _respond(request, line, error=_form_error(form), action="assign", form=form)
    customer = form.cleaned_data["customer"]
    try:
        services.bank_transaction_assign(transaction=line, customer=customer, user=request.user)
    except ValidationError as error:
        return _respond(request, line, error=_refused(error), action="assign", form=form)
    return _respond(
        request,
        line,
        message=_("Given to %(customer)s as unallocated credit.") % {"customer": customer.name},
    )


@require_POST
def bank_set_aside(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Take the credit out of the queue, with the reason."""
    _require(request.user)
    line = _line(pk)
    form = bank_forms.SetAsideForm(request.POST)
    if not form.is_valid():
        return _respond(request, line, error=_form_error(form), action="aside", form=form)
    try:
        services.bank_transaction_set_aside(
            transaction=line, reason=form.cleaned_data["reason"], user=request.user
        )
    except ValidationError as error:
        return _respond(request, line, error=_refused(error), action="aside", form=form)
    return _respond(request, line, message=_("Set aside."))


@require_POST
def bank_set_aside_undo(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Put a credit set aside back in the queue."""
    _require(request.user)
    line = _line(pk)
    try:
        services.bank_transaction_set_aside_undo(transaction=line, user=request.user)
    except ValidationError as error:
        return _respond(request, line, error=_refused(error))
    return _respond(request, line, message=_("Back in the matching queue."))
