"""Finance's corrections that reach beyond the ledger: cancelling an invoice also
cancels the reminders in progress that cover it (reminders.services.invoice_cancel), so
the page lives here, where both apps meet.

The view parses the reason, calls the one service and renders; the invoice is fetched
through ``Invoice.objects.visible_to(request.user)`` (404 outside the user's scope), then
anyone but finance staff gets 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core import access
from core.access import AuthenticatedHttpRequest
from receivables.forms import CorrectionReasonForm
from receivables.models import Invoice
from reminders import services


@require_http_methods(["GET", "POST"])
def invoice_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(
        Invoice.objects.visible_to(request.user).select_related("customer"), pk=pk
    )
    access.require(request.user, access.Action.EDIT_LEDGER)
    form = CorrectionReasonForm(request.POST or None)
    if (
        form.is_bound
        and form.is_valid()
        and form.run(services.invoice_cancel, invoice=invoice, user=request.user)
    ):
        messages.success(request, _("%(number)s cancelled.") % {"number": invoice.number})
        return redirect(invoice)
    context = {"form": form, "invoice": invoice, "c": invoice.customer}
    return render(request, "workplaces/invoice_cancel.html", context)
