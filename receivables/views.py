"""Receivables pages: invoice list and page, aged balance with its CSV/XLSX downloads,
and finance's forms to enter an invoice or a payment of a customer.

Views only parse input, call a selector (or a service, through a form) and render. Every
row comes from a ``visible_to(request.user)`` queryset (in the selectors), so a sales rep
sees only their customers' invoices and totals, and anything else answers 404.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from core import access
from core.access import AnyUser, AuthenticatedHttpRequest
from core.dates import DayField
from core.htmx import render_page
from core.money import format_money_active
from customers.models import Customer
from customers.selectors import sales_rep_choices
from receivables import bounds, exports, selectors, services
from receivables.forms import (
    CorrectionReasonForm,
    CreditNoteForm,
    InvoiceEditForm,
    InvoiceForm,
    PaymentForm,
    ReallocateForm,
)
from receivables.models import CompanyProfile, Invoice, Payment

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PAGE_SIZE = 50


# The two filter forms only read the query string; they live here until the app has a
# receivables/forms.py of its own.
class InvoiceFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Customer or number"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All")), *selectors.InvoiceStatus.choices],
    )
    sales_rep: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=gettext_lazy("Sales rep"),
        required=False,
        queryset=None,
        empty_label=gettext_lazy("All"),
    )
    due_from = DayField(label=gettext_lazy("Due from"), required=False)
    due_to = DayField(label=gettext_lazy("Due to"), required=False)

    def __init__(self, *args, user: AnyUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["sales_rep"])
        field.queryset = sales_rep_choices(user=user)
        field.label_from_instance = lambda u: u.get_full_name() or u.username  # type: ignore[method-assign,assignment]

    def filters(self) -> selectors.InvoiceFilters:
        """The valid filters; an invalid field is ignored (and its error shown)."""
        self.is_valid()
        data = self.cleaned_data
        rep = data.get("sales_rep")
        return selectors.InvoiceFilters(
            status=data.get("status") or "",
            search=data.get("q") or "",
            sales_rep_id=rep.pk if rep else None,
            due_from=data.get("due_from"),
            due_to=data.get("due_to"),
        )


class AsOfForm(forms.Form):
    as_of = DayField(
        label=gettext_lazy("As of"),
        required=False,
        error_messages={"invalid": gettext_lazy("Enter a valid date, such as 2026-03-31.")},
    )

    def clean_as_of(self) -> datetime.date | None:
        day = self.cleaned_data["as_of"]
        if day is not None and (refusals := bounds.looked_at_refusals(day)):
            raise forms.ValidationError(refusals)
        return day

    def as_of_date(self) -> datetime.date | None:
        """The requested date, today when none is given, None when it is malformed."""
        if not self.is_valid():
            return None
        return self.cleaned_data["as_of"] or timezone.localdate()


@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET, user=request.user)
    today = timezone.localdate()
    invoices = selectors.invoice_list(user=request.user, filters=form.filters(), as_of=today)
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
    }
    return render_page(request, "receivables/invoice_list.html", context, fragment="table")


@require_GET
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    today = timezone.localdate()
    invoices = selectors.invoice_for_page(Invoice.objects.visible_to(request.user), as_of=today)
    invoice = get_object_or_404(invoices, pk=pk)
    data = selectors.invoice_page(invoice=invoice, as_of=today)
    return render(request, "receivables/invoice_detail.html", {"data": data, "invoice": invoice})


@require_GET
def invoice_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The invoice's stored PDF (an imported Factur-X, for instance), for whoever may see
    the invoice: stored files are never served from ``MEDIA_ROOT`` by URL."""
    invoice = get_object_or_404(Invoice.objects.visible_to(request.user), pk=pk)
    if not invoice.pdf:
        raise Http404
    try:
        handle = invoice.pdf.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"invoice-{invoice.number}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _ledger_customer(request: HttpRequest, customer_pk: int) -> Customer:
    """The customer whose ledger is written to: 404 outside the user's scope, then 403
    for anyone but finance staff."""
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=customer_pk)
    access.require(request.user, access.Action.EDIT_LEDGER)
    return customer


@require_http_methods(["GET", "POST"])
def invoice_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _ledger_customer(request, customer_pk)
    form = InvoiceForm(request.POST or None, customer=customer)
    if form.is_bound and form.is_valid() and (invoice := form.save(user=request.user)):
        messages.success(request, _("Invoice %(number)s created.") % {"number": invoice.number})
        return redirect(invoice)
    return render(request, "receivables/invoice_form.html", {"form": form, "c": customer})


@require_http_methods(["GET", "POST"])
def payment_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _ledger_customer(request, customer_pk)
    form = PaymentForm(request.POST or None, customer=customer)
    if form.is_bound and form.is_valid() and (payment := form.save(user=request.user)):
        messages.success(
            request,
            _("Payment of %(amount)s recorded: %(allocated)s allocated, %(credit)s left as credit.")
            % {
                "amount": format_money_active(payment.amount),
                "allocated": format_money_active(payment.allocated_amount),
                "credit": format_money_active(payment.unallocated),
            },
        )
        return redirect(customer)
    return render(request, "receivables/payment_form.html", {"form": form, "c": customer})


AGED_BALANCE_PAGE_SIZE = 100


@require_GET
def aged_balance(request: HttpRequest) -> HttpResponse:
    form = AsOfForm(request.GET or None)
    as_of = form.as_of_date() if form.is_bound else timezone.localdate()
    ab = selectors.aged_balance(user=request.user, as_of=as_of) if as_of else None
    # The totals cover every customer; the table shows them a page at a time.
    page = (
        Paginator(ab.rows, AGED_BALANCE_PAGE_SIZE).get_page(request.GET.get("page")) if ab else None
    )
    context = {
        "form": form if form.is_bound else AsOfForm(initial={"as_of": as_of}),
        "ab": ab,
        "page": page,
    }
    return render(request, "receivables/aged_balance.html", context)


@require_GET
def aged_balance_download(request: HttpRequest, fmt: str) -> HttpResponse:
    access.require(request.user, access.Action.DOWNLOAD_AGED_BALANCE)
    as_of = AsOfForm(request.GET).as_of_date()
    if as_of is None:
        return HttpResponseBadRequest(_("Enter a valid date, such as 2026-03-31."))
    ab = selectors.aged_balance(user=request.user, as_of=as_of)
    filename = f"aged-balance-{as_of.isoformat()}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        exports.aged_balance_csv_localized(ab, response)
    else:
        response = HttpResponse(
            exports.aged_balance_xlsx(ab),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _ledger_invoice(request: HttpRequest, pk: int) -> Invoice:
    """The invoice to correct: 404 outside the user's scope, then 403 for anyone but
    finance staff."""
    invoice = get_object_or_404(
        Invoice.objects.visible_to(request.user).select_related("customer"), pk=pk
    )
    access.require(request.user, access.Action.EDIT_LEDGER)
    return invoice


@require_http_methods(["GET", "POST"])
def invoice_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invoice = _ledger_invoice(request, pk)
    form = InvoiceEditForm(request.POST or None, invoice=invoice)
    if form.is_bound and form.is_valid() and (saved := form.save(user=request.user)):
        messages.success(request, _("Invoice %(number)s saved.") % {"number": saved.number})
        return redirect(saved)
    context = {"form": form, "invoice": invoice, "c": invoice.customer}
    return render(request, "receivables/invoice_edit.html", context)


def _correction_page(request, *, title: str, intro: str, form, action: str, back: str, **extra):
    context = {"title": title, "intro": intro, "form": form, "action": action, "back": back}
    return render(request, "receivables/correction_form.html", context | extra)


@require_http_methods(["GET", "POST"])
def credit_note_create(request: AuthenticatedHttpRequest, customer_pk: int) -> HttpResponse:
    customer = _ledger_customer(request, customer_pk)
    initial = (
        {"credited_invoice": request.GET.get("invoice")} if request.GET.get("invoice") else None
    )
    form = CreditNoteForm(request.POST or None, customer=customer, initial=initial)
    if form.is_bound and form.is_valid() and (note := form.save(user=request.user)):
        messages.success(request, _("Credit note %(number)s issued.") % {"number": note.number})
        return redirect(customer)
    return _correction_page(
        request,
        title=_("Issue a credit note"),
        intro=_(
            "Against an invoice, the credit note is allocated to what is left to pay on it; "
            "against the account, it stays as the customer's unallocated credit."
        ),
        form=form,
        action=request.get_full_path(),
        back=customer.get_absolute_url(),
        c=customer,
    )


@require_http_methods(["GET", "POST"])
def payment_reallocate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    payment = get_object_or_404(
        Payment.objects.visible_to(request.user).select_related("customer"), pk=pk
    )
    access.require(request.user, access.Action.EDIT_LEDGER)
    customer = payment.customer
    form = ReallocateForm(request.POST or None, customer=customer)
    if (
        form.is_bound
        and form.is_valid()
        and form.run(
            services.payment_reallocate,
            payment=payment,
            user=request.user,
            invoice=form.cleaned_data["invoice"],
        )
    ):
        messages.success(request, _("Payment re-allocated."))
        return redirect(customer)
    return _correction_page(
        request,
        title=_("Re-allocate a payment of %(amount)s")
        % {"amount": format_money_active(payment.amount)},
        intro=_(
            "What the payment paid is taken back and allocated again, from today: "
            "the aged balance of earlier days does not change."
        ),
        form=form,
        action=request.get_full_path(),
        back=customer.get_absolute_url(),
        c=customer,
    )


@require_http_methods(["GET", "POST"])
def credit_apply(request: AuthenticatedHttpRequest, customer_pk: int) -> HttpResponse:
    customer = _ledger_customer(request, customer_pk)
    form = CorrectionReasonForm(request.POST or None)
    if form.is_bound and form.is_valid():
        applied = form.run(services.credit_apply, customer=customer, user=request.user)
        if applied:
            messages.success(
                request,
                _("%(amount)s of credit applied.") % {"amount": format_money_active(applied)},
            )
            return redirect(customer)
    return _correction_page(
        request,
        title=_("Apply the unallocated credit"),
        intro=_(
            "The customer's unallocated payments and credit notes, oldest first, pay its "
            "open installments, oldest due first."
        ),
        form=form,
        action=request.get_full_path(),
        back=customer.get_absolute_url(),
        c=customer,
    )


@require_http_methods(["GET", "POST"])
def balance_write_off(request: AuthenticatedHttpRequest, customer_pk: int) -> HttpResponse:
    customer = _ledger_customer(request, customer_pk)
    form = CorrectionReasonForm(request.POST or None)
    threshold = CompanyProfile.get().write_off_threshold
    if form.is_bound and form.is_valid():
        note = form.run(services.balance_write_off, customer=customer, user=request.user)
        if note:
            messages.success(
                request,
                _("%(amount)s written off.") % {"amount": format_money_active(note.amount)},
            )
            return redirect(customer)
    return _correction_page(
        request,
        title=_("Write off the balance"),
        intro=_(
            "What is left to pay on the open installments is settled by a write-off credit "
            "note, when it is no more than %(threshold)s."
        )
        % {"threshold": format_money_active(threshold)},
        form=form,
        action=request.get_full_path(),
        back=customer.get_absolute_url(),
        c=customer,
    )
