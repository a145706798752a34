"""Finance staff and the customer's page (the portal): issue a new link (every earlier
one stops working), revoke the access, download what a customer sent from their page
(a proof of payment, a dispute's document), which no URL serves otherwise."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import access
from customers.models import Customer
from customers.portal_links import access_reissue, access_revoke, portal_url, short_code
from receivables.models import Dispute, PaymentClaim


def _customer(request: HttpRequest, pk: int) -> Customer:
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    access.require(request.user, access.Action.EDIT_LEDGER)
    return customer


@require_POST
def portal_link_issue(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    token = access_reissue(customer=customer, user=request.user)
    messages.success(
        request,
        _("New link to the customer's page (earlier links no longer work): %(url)s — code %(code)s")
        % {"url": portal_url(token), "code": short_code(token)},
    )
    return redirect(customer.get_absolute_url() + "#portal")


@require_POST
def portal_link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    access_revoke(customer=customer, user=request.user)
    messages.success(
        request,
        _("The customer's page is closed: every link fails, reminders carry none until a new one."),
    )
    return redirect(customer.get_absolute_url() + "#portal")


@require_GET
def portal_file(request: HttpRequest, pk: int, kind: str, file_pk: int) -> FileResponse:
    """A file a customer sent from their page, to finance staff only."""
    customer = _customer(request, pk)
    if kind == "proof":
        field = get_object_or_404(PaymentClaim.objects.filter(customer=customer), pk=file_pk).proof
    elif kind == "dispute":
        field = get_object_or_404(
            Dispute.objects.filter(invoice__customer=customer), pk=file_pk
        ).attachment
    else:
        raise Http404
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    name = (field.name or "file").rsplit("/", 1)[-1]
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
