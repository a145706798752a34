"""Filter forms of the workplaces' pages. The filter forms only parse the query string; an invalid
value falls back to "no filter" rather than an error page."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from core.access import AnyUser
from customers.selectors import sales_rep_choices
from workplaces.selectors.customers import CUSTOMER_SORTS, DEFAULT_CUSTOMER_SORT

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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
        """Keyword arguments for :func:`workplaces.selectors.customer_list`."""
        self.is_valid()
        data = self.cleaned_data  # the fields that did validate
        return {
            "search": data.get("q") or "",
            "overdue_only": bool(data.get("overdue")),
            "sort": data.get("sort") or DEFAULT_CUSTOMER_SORT,
        }


class SalesFilterForm(forms.Form):
    """The sales view's filter: finance staff and managers may look at one rep's book
    (a sales rep only ever sees their own, whatever the query string says)."""

    rep: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Sales rep"), queryset=None, required=False, empty_label=_("All sales reps")
    )

    def __init__(self, *args, user: AnyUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["rep"]).queryset = sales_rep_choices(user=user)

    def rep_id(self) -> int | None:
        if not self.is_valid() or self.cleaned_data["rep"] is None:
            return None
        return self.cleaned_data["rep"].pk
