"""The customer's page: no login, a token in the URL (customers/portal_links.py).

Every request goes through :func:`portal_view`: the address's rate limit first, then the
token; an unknown, altered, expired or revoked token gets the same polite page (same
status, same content: nothing tells a visitor whether a token exists), with the
company's contact. The page speaks the customer's language. Every request is logged
(``PortalVisit``) with its time and address, whatever its outcome."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET, require_POST

from core.auth import client_ip
from customers.models import Customer
from customers.portal_links import customer_for_token, link_days, short_code
from portal import forms, selectors, services
from portal.models import PortalVisit
from receivables.models import CompanyProfile

Outcome = PortalVisit.Outcome
View = Callable[..., HttpResponseBase]


def _log(request: HttpRequest, action: str, outcome: str, customer: Customer | None = None) -> None:
    PortalVisit.objects.create(
        ip=client_ip(request) or None,
        customer=customer,
        action=action,
        outcome=outcome,
        # A path may carry anything a visitor typed, NUL bytes included (PostgreSQL
        # refuses them in text): control characters are dropped (found by hypothesis).
        detail="".join(ch for ch in request.path if ch.isprintable())[:255],
    )


def _over_limit(request: HttpRequest) -> bool:
    since = timezone.now() - datetime.timedelta(minutes=settings.PORTAL_RATE_WINDOW_MINUTES)
    return (
        PortalVisit.objects.from_address_since(client_ip(request) or None, since).count()
        >= settings.PORTAL_RATE_LIMIT
    )


def _polite(request: HttpRequest, *, status: int, template: str) -> HttpResponse:
    response = render(request, template, {"company": CompanyProfile.get()}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def portal_view(action: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, token: str, **kwargs) -> HttpResponseBase:
            if _over_limit(request):
                _log(request, action, Outcome.LIMITED)
                return _polite(request, status=429, template="portal/limited.html")
            customer = customer_for_token(token)
            if customer is None:
                _log(request, action, Outcome.INVALID)
                return _polite(request, status=404, template="portal/invalid.html")
            language = customer.language if customer.language in ("fr", "en") else "fr"
            with translation.override(language):
                request.LANGUAGE_CODE = language
                try:
                    response = view(request, customer, token, **kwargs)
                except Http404:
                    _log(request, action, Outcome.REFUSED, customer)
                    raise
                refused = request.method == "POST" and response.status_code != 302
                _log(request, action, Outcome.REFUSED if refused else Outcome.OK, customer)
                response["Cache-Control"] = "private, no-store"
                response.headers.setdefault("Content-Language", language)
                return response

        return wrapped

    return decorate


FORMS: dict[str, type[forms._CustomerForm]] = {
    "paid": forms.PaidForm,
    "promise": forms.PromiseForm,
    "dispute": forms.DisputeForm,
    "copy": forms.CopyForm,
    "send_to": forms.SendToForm,
}


def _page(
    request: HttpRequest,
    customer: Customer,
    token: str,
    bound: dict[str, forms._CustomerForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    given = bound or {}
    the_forms = {
        name: given.get(name) or form(customer=customer, prefix=name)
        for name, form in FORMS.items()
    }
    statement = selectors.statement(customer=customer, today=today)
    context = {
        "statement": statement,
        "company": statement.company,
        "token": token,
        "code": short_code(token),
        "forms": the_forms,
        "open_form": next(iter(given), ""),
        "done": request.GET.get("done", "") if not given else "",
        "promise_latest": services.promise_latest(today),
        "link_days": link_days(),
    }
    return render(request, "portal/home.html", context, status=status)


@login_not_required
@require_GET
@portal_view("view")
def home(request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
    return _page(request, customer, token)


@login_not_required
@require_GET
@portal_view("invoice_pdf")
def invoice_pdf(request: HttpRequest, customer: Customer, token: str, pk: int) -> FileResponse:
    """The invoice's stored PDF, only when it is this customer's."""
    invoice = selectors.owned_invoice(customer=customer, pk=pk)
    if invoice is None or not invoice.pdf:
        raise Http404
    try:
        handle = invoice.pdf.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"invoice-{invoice.number}.pdf",
        content_type="application/pdf",
    )


def _act(
    request: HttpRequest,
    customer: Customer,
    token: str,
    name: str,
    act: Callable[[dict], object],
) -> HttpResponse:
    form = FORMS[name](request.POST, request.FILES, customer=customer, prefix=name)
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            return redirect(f"{request.path.rsplit('/', 2)[0]}/?done={name}#done")
    return _page(request, customer, token, bound={name: form}, status=400)


@login_not_required
@require_POST
@portal_view("paid")
def paid(request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
    return _act(
        request,
        customer,
        token,
        "paid",
        lambda d: services.paid_claim_record(
            customer=customer,
            paid_on=d["paid_on"],
            amount=d["amount"],
            invoices=list(d["invoices"]),
            proof=d.get("proof"),
        ),
    )


@login_not_required
@require_POST
@portal_view("promise")
def promise(request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
    return _act(
        request,
        customer,
        token,
        "promise",
        lambda d: services.promise_from_page(
            customer=customer,
            promised_date=d["promised_date"],
            amount=d["amount"],
            invoices=list(d["invoices"]),
        ),
    )


@login_not_required
@require_POST
@portal_view("dispute")
def dispute(request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
    return _act(
        request,
        customer,
        token,
        "dispute",
        lambda d: services.dispute_from_page(
            customer=customer,
            invoice=d["invoice"],
            reason=d["reason"],
            description=d["description"],
            attachment=d.get("attachment"),
        ),
    )


@login_not_required
@require_POST
@portal_view("copy")
def copy(request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
    return _act(
        request,
        customer,
        token,
        "copy",
        lambda d: services.copy_request(customer=customer, invoice=d["invoice"]),
    )


@login_not_required
@require_POST
@portal_view("send_to")
def send_to(request: HttpRequest, customer: Customer, token: str) -> HttpResponse:
    return _act(
        request,
        customer,
        token,
        "send_to",
        lambda d: services.send_to_request(customer=customer, email=d["email"], text=d["text"]),
    )
