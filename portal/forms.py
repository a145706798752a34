"""The customer's forms: each validates everything (days, amounts, text length, files'
size and type) before a service acts; a refusal says why, in the customer's language."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from core.dates import DayField
from core.money import MoneyFormField
from customers.models import Customer
from receivables import bounds
from receivables.models import Dispute, Invoice

# What a proof or a document may be, recognised by its first bytes, not its name.
FILE_KINDS = {b"%PDF-": "pdf", b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}
TEXT_MAX = 2000


def checked_file(upload: UploadedFile | None) -> UploadedFile | None:
    """A PDF, PNG or JPEG of at most ``PORTAL_UPLOAD_MAX_BYTES``, renamed at random (the
    name the visitor gave is never used on disk); else a field error."""
    if not upload:
        return None
    limit = settings.PORTAL_UPLOAD_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise forms.ValidationError(
            _("The file is too large (at most %(size)s).") % {"size": filesizeformat(limit)}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = next((ext for magic, ext in FILE_KINDS.items() if head.startswith(magic)), None)
    if kind is None:
        raise forms.ValidationError(_("Only a PDF, PNG or JPEG file can be sent."))
    upload.name = f"{uuid.uuid4().hex}.{kind}"
    return upload


class _CustomerForm(forms.Form):
    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        for name in ("invoices", "invoice"):
            if name in self.fields:
                field = cast(forms.ModelChoiceField, self.fields[name])
                field.queryset = bounds.open_invoices(customer)
                field.label_from_instance = lambda invoice: invoice.number  # type: ignore[method-assign,assignment]


class PaidForm(_CustomerForm):
    paid_on = DayField(label=_("Paid on"))
    amount = MoneyFormField(label=_("Amount paid"), min_value=Decimal("0.01"))
    invoices = forms.ModelMultipleChoiceField(
        label=_("Invoices paid (none: all)"),
        queryset=Invoice.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    proof = forms.FileField(label=_("Proof of payment (PDF, PNG or JPEG)"), required=False)

    def clean_proof(self) -> UploadedFile | None:
        return checked_file(self.cleaned_data.get("proof"))


class PromiseForm(_CustomerForm):
    promised_date = DayField(label=_("I will pay on"))
    amount = MoneyFormField(label=_("Amount"), min_value=Decimal("0.01"))
    invoices = forms.ModelMultipleChoiceField(
        label=_("Invoices (none: all)"),
        queryset=Invoice.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class DisputeForm(_CustomerForm):
    invoice = forms.ModelChoiceField(label=_("Invoice"), queryset=Invoice.objects.none())
    reason = forms.ChoiceField(label=_("Reason"), choices=Dispute.Reason.choices)
    description = forms.CharField(
        label=_("Tell us more"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    attachment = forms.FileField(label=_("A document (PDF, PNG or JPEG)"), required=False)

    def clean_attachment(self) -> UploadedFile | None:
        return checked_file(self.cleaned_data.get("attachment"))


class CopyForm(_CustomerForm):
    invoice = forms.ModelChoiceField(label=_("Invoice"), queryset=Invoice.objects.none())


class SendToForm(_CustomerForm):
    email = forms.EmailField(label=_("Invoices should go to (email)"), max_length=254)
    text = forms.CharField(
        label=_("Anything else (name, postal address, purchase order…)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
