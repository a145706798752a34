"""The customers app's own pages: the user's preferences and the language switch. The
pages that combine customers with balances and reminders live in workplaces/."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from core.access import AuthenticatedHttpRequest
from customers import selectors
from customers.forms import PreferencesForm


@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own settings; the language applies from the next page on."""
    form = PreferencesForm(request.POST or None, instance=selectors.preferences_of(request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Preferences saved."))
        return redirect("customers:preferences")
    return render(request, "customers/preferences.html", {"form": form})


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
