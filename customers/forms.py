"""Forms of the customer pages. The list's filter form only parses the query string;
an invalid value falls back to "no filter" rather than an error page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.selectors import CUSTOMER_SORTS, DEFAULT_CUSTOMER_SORT


class CustomerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name or reference"),
                "autocomplete": "off",
            }
        ),
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for key in CUSTOMER_SORTS],
        widget=forms.HiddenInput,
    )

    def filters(self) -> dict:
        """Keyword arguments for :func:`customers.selectors.customer_list`."""
        self.is_valid()
        data = self.cleaned_data  # the fields that did validate
        return {
            "search": data.get("q") or "",
            "overdue_only": bool(data.get("overdue")),
            "sort": data.get("sort") or DEFAULT_CUSTOMER_SORT,
        }
