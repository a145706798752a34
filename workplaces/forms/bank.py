"""The forms of the bank matching queue (workplaces/views/bank.py): they read what a person
typed (invoice numbers, amounts as they write them, a customer reference) and find the
rows through ``visible_to``; the services decide whether the action is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import AnyUser
from core.money import MoneyFormField
from customers.models import Customer
from receivables.models import Invoice

SPLIT_ROWS = 4


class ConfirmForm(forms.Form):
    invoice = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, user: AnyUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_invoice(self) -> Invoice:
        invoice = Invoice.objects.visible_to(self.user).filter(pk=self.cleaned_data["invoice"])
        found = invoice.select_related("customer").first()
        if found is None:
            raise forms.ValidationError(_("This invoice no longer exists."))
        return found


class SplitForm(forms.Form):
    """Up to :data:`SPLIT_ROWS` pairs (invoice number, amount); the empty ones are skipped."""

    def __init__(self, *args, user: AnyUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.allocations: dict[Invoice, Decimal] = {}
        for i in range(SPLIT_ROWS):
            self.fields[f"invoice_{i}"] = forms.CharField(
                label=gettext_lazy("Invoice"), max_length=50, required=False
            )
            self.fields[f"amount_{i}"] = MoneyFormField(
                label=gettext_lazy("Amount"), required=False, localize=True
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pairs: list[tuple[str, Decimal | None]] = []
        for i in range(SPLIT_ROWS):
            number = (data.get(f"invoice_{i}") or "").strip()
            amount = data.get(f"amount_{i}")
            if number:
                pairs.append((number, amount))
            elif amount is not None:
                self.add_error(f"invoice_{i}", _("Which invoice does this amount pay?"))
        if not pairs and not self.errors:
            raise forms.ValidationError(_("Give at least one invoice and the amount it receives."))
        invoices = {
            i.number.upper(): i
            for i in Invoice.objects.visible_to(self.user)
            .select_related("customer")
            .filter(number__in={v for n, _amount in pairs for v in (n, n.upper())})
        }
        for number, amount in pairs:
            invoice = invoices.get(number.upper())
            if invoice is None:
                self.add_error(None, _("No invoice numbered %(number)s.") % {"number": number})
            elif amount is None:
                self.add_error(None, _("Give the amount for %(number)s.") % {"number": number})
            elif invoice in self.allocations:
                self.add_error(None, _("%(number)s is given twice.") % {"number": number})
            else:
                self.allocations[invoice] = amount
        return data


class AssignForm(forms.Form):
    customer = forms.CharField(label=gettext_lazy("Customer"), max_length=50)

    def __init__(self, *args, user: AnyUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_customer(self) -> Customer:
        ref = self.cleaned_data["customer"].strip()
        customer = Customer.objects.visible_to(self.user).filter(customer_ref=ref).first()
        if customer is None:
            raise forms.ValidationError(_("No customer with the reference %(ref)s.") % {"ref": ref})
        return customer


class SetAsideForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=255)
