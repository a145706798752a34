"""The customers app's own pages: the user's preferences and the language switch, and
finance's forms to create or correct a customer and its billing contacts. The pages that
combine customers with balances and reminders live in workplaces/."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from core import access, tokens
from core.access import AuthenticatedHttpRequest
from core.models import ApiToken
from customers import selectors, services
from customers.forms import ApiTokenForm, ContactForm, CustomerForm, PreferencesForm
from customers.models import Contact, Customer


def _preferences_page(
    request: AuthenticatedHttpRequest,
    *,
    form: PreferencesForm | None = None,
    token_form: ApiTokenForm | None = None,
    new_token: str = "",
) -> HttpResponse:
    context = {
        "form": form or PreferencesForm(instance=selectors.preferences_of(request.user)),
        "token_form": token_form or ApiTokenForm(),
        "tokens": tokens.tokens_of(request.user),
        "new_token": new_token,
    }
    response = render(request, "customers/preferences.html", context)
    if new_token:
        response["Cache-Control"] = "no-store"  # the secret is shown once, never cached
    return response


@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own settings; the language applies from the next page on."""
    form = PreferencesForm(request.POST or None, instance=selectors.preferences_of(request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Preferences saved."))
        return redirect("customers:preferences")
    return _preferences_page(request, form=form)


@require_POST
def token_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A new personal API token: its secret is shown on this answer only."""
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            _token, secret = tokens.token_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            for name, errors in error.error_dict.items():
                form.add_error(name, errors)
        else:
            return _preferences_page(request, new_token=secret)
    return _preferences_page(request, token_form=form)


@require_POST
def token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens (anybody else's answers 404)."""
    try:
        revoked = tokens.token_revoke(user=request.user, token_id=pk)
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("Token %(name)s revoked.") % {"name": revoked.name})
    return redirect("customers:preferences")


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


def _finance_customer(request: HttpRequest, pk: int) -> Customer:
    """404 outside the user's scope, then 403 for anyone but finance staff."""
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    access.require(request.user, access.Action.EDIT_LEDGER)
    return customer


@require_http_methods(["GET", "POST"])
def customer_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    access.require(request.user, access.Action.EDIT_LEDGER)
    form = CustomerForm(request.POST or None, creating=True)
    if form.is_bound and form.is_valid():
        customer = form.save_with(services.customer_create, user=request.user)
        if customer is not None:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect(customer)
    return render(request, "customers/customer_form.html", {"form": form, "c": None})


@require_http_methods(["GET", "POST"])
def customer_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = _finance_customer(request, pk)
    form = CustomerForm(request.POST or None, instance=customer)
    if form.is_bound and form.is_valid():
        saved = form.save_with(services.customer_update, customer=customer, user=request.user)
        if saved is not None:
            messages.success(request, _("Customer %(name)s saved.") % {"name": saved.name})
            return redirect(saved)
    customer.refresh_from_db()  # the form's checks set the typed values on it
    return render(request, "customers/customer_form.html", {"form": form, "c": customer})


@require_http_methods(["GET", "POST"])
def contact_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    customer = _finance_customer(request, pk)
    form = ContactForm(request.POST or None, creating=True, instance=Contact(customer=customer))
    if form.is_bound and form.is_valid():
        contact = form.save_with(services.contact_create, customer=customer, user=request.user)
        if contact is not None:
            messages.success(request, _("Billing contact %(name)s added.") % {"name": contact})
            return redirect(customer)
    context = {"form": form, "c": customer, "contact": None}
    return render(request, "customers/contact_form.html", context)


@require_http_methods(["GET", "POST"])
def contact_edit(request: AuthenticatedHttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    customer = _finance_customer(request, pk)
    contact = get_object_or_404(Contact.objects.filter(customer=customer), pk=contact_pk)
    form = ContactForm(request.POST or None, instance=contact)
    if form.is_bound and form.is_valid():
        saved = form.save_with(services.contact_update, contact=contact, user=request.user)
        if saved is not None:
            messages.success(request, _("Billing contact %(name)s saved.") % {"name": saved})
            return redirect(customer)
    context = {"form": form, "c": customer, "contact": contact}
    return render(request, "customers/contact_form.html", context)
