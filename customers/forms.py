"""Forms of the customers app: the user's own preferences, a customer and a billing
contact (created or corrected by finance staff through customers.services)."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import access
from core.dates import DayField
from customers.models import Contact, Customer, UserPreferences
from customers.services import CONTACT_FIELDS, CUSTOMER_FIELDS
from customers.validators import compact_siren, compact_vat_number


class ApiTokenForm(forms.Form):
    """A new personal API token (core.tokens): its name, scope and optional expiry."""

    name = forms.CharField(label=_("Token name"), max_length=100)
    read_only = forms.BooleanField(
        label=_("Read-only"),
        required=False,
        help_text=_("A read-only token may read but never write, whatever your role."),
    )
    expires_on = DayField(
        label=_("Expires after"),
        required=False,
        help_text=_("Optional: the last day it works."),
    )


class PreferencesForm(forms.ModelForm):
    """The user's own settings (today: the interface language)."""

    class Meta:
        model = UserPreferences
        fields = ["language"]
        widgets = {"language": forms.RadioSelect}


REASON_HELP = _("Recorded on the customer's timeline with your name.")


class CorrectionForm(forms.ModelForm):
    """A ModelForm whose ``save()`` runs a service with the reason given: the service's
    refusal becomes form errors and nothing is written."""

    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def save_with(self, service, **kwargs):
        fields = {n: self.cleaned_data[n] for n in self._meta.fields or ()}
        try:
            return service(reason=self.cleaned_data.get("reason", ""), **kwargs, **fields)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, errors in error.error_dict.items():
                    self.add_error(name if name in self.fields else None, errors)
            else:
                self.add_error(None, error)
            return None


class CustomerForm(CorrectionForm):
    # Longer than stored: typed with spaces as printed on a Kbis, compacted when clean.
    siren = forms.CharField(label=_("SIREN"), max_length=20, required=False)
    vat_number = forms.CharField(label=_("VAT number"), max_length=30, required=False)

    class Meta:
        model = Customer
        fields = list(CUSTOMER_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, creating: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        reps = cast(forms.ModelChoiceField, self.fields["sales_rep"])
        current = self.instance.sales_rep_id
        reps.queryset = (
            User.objects.filter(Q(groups__name=access.SALES, is_active=True) | Q(pk=current))
            .distinct()
            .order_by("last_name", "first_name", "username")
        )
        reps.label_from_instance = lambda u: u.get_full_name() or u.username  # type: ignore[method-assign,assignment]
        if creating:
            self.fields["reason"].required = False
        self.fields["reason"].help_text = REASON_HELP

    def clean_siren(self) -> str:
        value = self.cleaned_data["siren"]
        return compact_siren(value)

    def clean_vat_number(self) -> str:
        value = self.cleaned_data["vat_number"]
        return compact_vat_number(value)


class ContactForm(CorrectionForm):
    class Meta:
        model = Contact
        fields = list(CONTACT_FIELDS)
        widgets = {"invoice_instructions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, creating: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["reason"].required = False
        self.fields["reason"].help_text = REASON_HELP
