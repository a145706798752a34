"""Input forms of the manual reminder actions: they validate, services act."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import cast

from django import forms
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.confirm import ConfirmableForm
from core.dates import DayField
from core.money import MoneyFormField
from customers.models import Activity
from receivables import bounds
from receivables.models import Dispute, Invoice


def _from_today(day: datetime.date | None) -> datetime.date | None:
    """Today to the ledger's far end (receivables/bounds.py), or a field error."""
    if day is not None and (refusals := bounds.from_today_refusals(day)):
        raise forms.ValidationError(refusals)
    return day


class CallLogForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(Activity.Kind.CALL, _("Call")), (Activity.Kind.NOTE, _("Note"))],
        initial=Activity.Kind.CALL,
    )
    summary = forms.CharField(label=_("Summary"), max_length=255)
    outcome = forms.CharField(label=_("Outcome"), max_length=100, required=False)
    body = forms.CharField(
        label=_("Details"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    next_action_date = DayField(label=_("Next action"), required=False)

    def clean_next_action_date(self) -> datetime.date | None:
        return _from_today(self.cleaned_data["next_action_date"])


class PromiseForm(forms.Form):
    promised_date = DayField(label=_("Promised date"))
    amount = MoneyFormField(label=_("Amount"), min_value=Decimal("0.01"))
    invoices = forms.ModelMultipleChoiceField(
        label=_("Invoices (none: all)"), queryset=Invoice.objects.none(), required=False
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        if customer is not None:
            # Only invoices with something left to pay: a promise on a paid one means nothing.
            cast(
                forms.ModelMultipleChoiceField, self.fields["invoices"]
            ).queryset = bounds.open_invoices(customer)

    def clean(self):
        data = super().clean() or {}
        if self.customer is None or self.errors:
            return data
        refusals = bounds.promise_refusals(
            customer=self.customer,
            promised_date=data["promised_date"],
            amount=data["amount"],
            invoices=list(data["invoices"]),
        )
        for message in refusals:
            self.add_error(None, message)
        return data


class PauseForm(ConfirmableForm):
    until = DayField(
        label=_("Pause reminders until"),
        required=False,
        help_text=_("Empty: resume now."),
    )
    note = forms.CharField(label=_("Reason"), max_length=1000, required=False)

    field_order = ["until", "note", "confirm"]

    def clean_until(self) -> datetime.date | None:
        return _from_today(self.cleaned_data["until"])


class SendNowForm(ConfirmableForm):
    """The "Send now" button, confirmed when it overrides a pause, a promise or a
    dispute."""


class DisputeOpenForm(forms.Form):
    invoice = forms.ModelChoiceField(label=_("Invoice"), queryset=Invoice.objects.none())
    reason = forms.ChoiceField(label=_("Reason"), choices=Dispute.Reason.choices)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if customer is not None:
            # Open invoices only: a paid or cancelled invoice is not disputed any more.
            cast(forms.ModelChoiceField, self.fields["invoice"]).queryset = bounds.open_invoices(
                customer
            ).exclude(Exists(Dispute.objects.open().filter(invoice=OuterRef("pk"))))


class DisputeResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


# --- worklist actions (the finance dashboard) -------------------------------------------


class WorklistCallForm(forms.Form):
    """A call made from the worklist: what came of it, and when to act next."""

    outcome = forms.CharField(label=_("Outcome"), max_length=100)
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    next_action_date = DayField(label=_("Next action"), required=False)

    def clean_next_action_date(self) -> datetime.date | None:
        return _from_today(self.cleaned_data["next_action_date"])


class PostponeForm(forms.Form):
    """Postpone a call or a follow-up to a later day."""

    until = DayField(label=_("Postpone to"))

    def clean_until(self) -> datetime.date:
        until = self.cleaned_data["until"]
        if until <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."))
        return cast(datetime.date, _from_today(until))


class ReasonForm(forms.Form):
    """An optional reason, kept with a cancelled letter or send."""

    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
