"""Pages of the formal-notice workflow and the recovery-file download (mounted at
/letters/). Views parse input, call one service or selector of reminders/letters/ (workflow.py,
recovery.py), and render: permissions (finance only, 403) and scoping
(``visible_to``, 404) are decided there."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_POST

from core.access import AuthenticatedHttpRequest
from core.dates import DayField
from reminders.letters import context as notice
from reminders.letters import recovery
from reminders.letters import workflow as letters


class PostingForm(forms.Form):
    tracking_number = forms.CharField(
        label=gettext_lazy("Registered-post number"), min_length=6, max_length=60
    )
    posted_on = DayField(
        label=gettext_lazy("Posted on"),
        required=False,
        help_text=gettext_lazy("Empty: today."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), required=False, max_length=500, widget=forms.Textarea
    )


def _pdf_response(pdf: bytes, filename: str, *, inline: bool) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def letter_list(request: HttpRequest) -> HttpResponse:
    worklist = letters.letters_worklist(user=request.user)
    return render(request, "reminders/letters/letter_list.html", {"worklist": worklist})


@require_GET
def letter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = letters.letter_for_user(user=request.user, reminder_id=pk)
    context = {"reminder": reminder, "posting_form": PostingForm(), "cancel_form": CancelForm()}
    try:
        context["letter"] = notice.build_letter_context(
            customer=reminder.customer,
            letter_date=notice.letter_date_of(reminder),
            reminder=reminder,
        )
    except ValidationError as exc:
        context["letter_error"] = " ".join(exc.messages)
    return render(request, "reminders/letters/letter_detail.html", context)


# Chrome shows a PDF through an internal <embed> in a synthetic page that the PDF
# response's own CSP governs: the site-wide object-src 'none' would block it. A PDF runs
# no script of ours, so this response only keeps who may frame it.
PDF_FRAME_CSP = {"frame-ancestors": [CSP.SELF]}


@require_GET
@xframe_options_sameorigin
@csp_override(PDF_FRAME_CSP)
def letter_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF shown in the detail page's <iframe> (same origin only)."""
    reminder = letters.letter_for_user(user=request.user, reminder_id=pk)
    try:
        pdf = letters.letter_preview_pdf(reminder=reminder)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=409, content_type="text/plain")
    return _pdf_response(pdf, f"MED-{reminder.pk}-preview.pdf", inline=True)


@require_GET
def letter_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored PDF, as it was (or will be) posted."""
    reminder = letters.letter_for_user(user=request.user, reminder_id=pk)
    if not reminder.pdf:
        return HttpResponse(_("No PDF stored yet."), status=404, content_type="text/plain")
    with reminder.pdf.open("rb") as f:
        pdf = f.read()
    return _pdf_response(pdf, f"mise-en-demeure-MED-{reminder.pk}.pdf", inline=False)


@require_POST
def letter_approve(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    try:
        letters.letter_approve(user=request.user, reminder_id=pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Letter approved: its PDF is being rendered and stored."))
    return redirect("letters:detail", pk=pk)


@require_POST
def letter_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        letters.letter_cancel(user=request.user, reminder_id=pk, reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("letters:detail", pk=pk)
    messages.success(request, _("Letter cancelled."))
    return redirect("letters:list")


@require_POST
def letter_post(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    letters.letter_to_handle(user=request.user, reminder_id=pk)  # 403 / 404 before the form
    form = PostingForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:  # an ErrorList yields its messages as str
                messages.error(request, error)  # type: ignore[arg-type]
        return redirect("letters:detail", pk=pk)
    try:
        letters.letter_record_posting(
            user=request.user,
            reminder_id=pk,
            tracking_number=form.cleaned_data["tracking_number"],
            posted_on=form.cleaned_data["posted_on"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Posting recorded: the letter is sent."))
    return redirect("letters:detail", pk=pk)


@require_GET
def recovery_file(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """The customer's recovery file as a ZIP (finance staff and managers). When it cannot
    be built (an ECB rate missing), back to the customer's page with the reason."""
    customer = recovery.customer_for_recovery(user=request.user, customer_id=customer_pk)
    as_of = timezone.localdate()
    try:
        data = recovery.build_recovery_file(customer=customer, as_of=as_of)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(customer.get_absolute_url())
    response = HttpResponse(data, content_type="application/zip")
    name = recovery.recovery_file_name(customer, as_of)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
