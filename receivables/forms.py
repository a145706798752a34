"""Forms of the ledger: a new invoice with its installment plan, a payment received.

The forms only read and check the input; the writes and the ledger's rules (due date
after issue date, unique number, no payment dated in the future, an invoice of this
customer…) belong to ``receivables.services``. ``save()`` calls the service and turns
its ``ValidationError`` into form errors: nothing is written, and the form shows why.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from core.confirm import ConfirmableForm, asks_confirmation
from core.dates import DayField
from core.money import MoneyFormField, format_money_active
from customers.models import Customer
from receivables import bounds, services
from receivables.models import (
    LEDGER_CURRENCY,
    Installment,
    Invoice,
    Payment,
    validate_ledger_currency,
)
from receivables.plans import PlanKind, monthly_dates

MONEY_WIDGET = forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"})
MAX_MONTHLY_PARTS = 120


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal: on its field when it names one of the form's, else above
    the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class LedgerForm(ConfirmableForm):
    """A form whose ``save()`` runs a service for ``customer``; a warning the service
    raises (an old date, no PO number…) shows with a checkbox to confirm it."""

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        self.customer = customer
        super().__init__(*args, **kwargs)

    def add_service_error(self, error: ValidationError) -> None:
        add_service_error(self, error)

    def run(self, service, **kwargs):
        """Call ``service``; None (and form errors) when the ledger refuses."""
        try:
            return service(**kwargs)
        except ValidationError as error:
            if asks_confirmation(error):
                self.ask_confirmation(error)
            else:
                self.add_service_error(error)
            return None


class InvoiceForm(LedgerForm):
    PLAN_CHOICES = [
        (PlanKind.SINGLE.value, _("Single payment")),
        (PlanKind.HALVES.value, _("50/50")),
        (PlanKind.THIRTY_THIRTY_FORTY.value, _("30/30/40")),
        (PlanKind.MONTHLY.value, _("Equal monthly parts")),
    ]

    number = forms.CharField(label=_("Invoice number"), max_length=40)
    issue_date = DayField(label=_("Issue date"))
    due_date = DayField(
        label=_("Due date"),
        help_text=_("The first part falls due on this date, the next ones a month apart."),
    )
    amount = MoneyFormField(
        label=_("Amount incl. tax"), min_value=Decimal("0.01"), widget=MONEY_WIDGET
    )
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        initial=LEDGER_CURRENCY,
        validators=[
            RegexValidator(r"^[A-Za-z]{3}$", _("Enter a three-letter currency code, such as EUR."))
        ],
    )
    po_number = forms.CharField(label=_("PO number"), max_length=60, required=False)
    plan = forms.ChoiceField(
        label=_("Installment plan"), choices=PLAN_CHOICES, initial=PlanKind.SINGLE.value
    )
    parts = forms.IntegerField(
        label=_("Number of monthly parts"),
        required=False,
        min_value=2,
        max_value=MAX_MONTHLY_PARTS,
        help_text=_("For equal monthly parts only."),
    )

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, customer=customer, **kwargs)
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("issue_date", today)
            terms = customer.payment_terms_days or 0
            self.initial.setdefault("due_date", today + datetime.timedelta(days=terms))
        if bounds.po_required(customer):
            self.fields["po_number"].help_text = _(
                "This customer requires a purchase-order number on its invoices."
            )

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip()

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].upper()
        validate_ledger_currency(currency)
        return currency

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("plan") == PlanKind.MONTHLY:
            if not data.get("parts") and "parts" not in self.errors:
                self.add_error("parts", _("Give the number of monthly parts."))
            elif data.get("parts") and data.get("due_date"):
                try:  # the parts' dates exist (the service builds the plan again)
                    monthly_dates(data["due_date"], data["parts"])
                except ValidationError as error:
                    self.add_error("parts", error)
        else:
            data["parts"] = None
        # The ledger's bounds, beside their fields (the service checks them again).
        if data.get("amount") is not None:
            for message in bounds.amount_refusals(data["amount"]):
                self.add_error("amount", message)
        # (add_error drops the field from cleaned_data: read both dates first.)
        if issue_date := data.get("issue_date"):
            due_date = data.get("due_date")
            for message in bounds.not_too_far_refusals(issue_date):
                self.add_error("issue_date", message)
            for message in bounds.due_date_refusals(issue_date, due_date):
                self.add_error("due_date", message)
        return data

    def save(self, *, user) -> Invoice | None:
        data = self.cleaned_data
        try:
            return self.run(
                services.invoice_create,
                created_by=user,
                customer=self.customer,
                number=data["number"],
                issue_date=data["issue_date"],
                due_date=data["due_date"],
                amount=data["amount"],
                currency=data["currency"],
                po_number=data["po_number"],
                plan=data["plan"],
                parts=data["parts"],
                confirmed=self.confirmed,
            )
        except IntegrityError:
            # Another user saved the same number between the check and the insert.
            self.add_error("number", _("An invoice with this number already exists."))
            return None


class PaymentForm(LedgerForm):
    date = DayField(label=_("Payment date"))
    amount = MoneyFormField(label=_("Amount"), min_value=Decimal("0.01"), widget=MONEY_WIDGET)
    method = forms.ChoiceField(
        label=_("Method"), choices=Payment.Method.choices, initial=Payment.Method.TRANSFER
    )
    reference = forms.CharField(label=_("Bank reference"), max_length=100, required=False)
    invoice = forms.ModelChoiceField(
        label=_("Invoice paid"),
        queryset=Invoice.objects.none(),
        required=False,
        empty_label=_("None: oldest installments first"),
        help_text=_("Whatever exceeds what is due stays as the customer's credit."),
    )

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, customer=customer, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("date", timezone.localdate())
        # The customer's invoices with something left to pay, oldest due first. Any other
        # invoice (paid, cancelled, another customer's) is not a valid choice.
        open_invoices = Installment.objects.open().values("invoice")
        field = cast(forms.ModelChoiceField, self.fields["invoice"])
        field.queryset = (
            Invoice.objects.active()
            .invoices()
            .filter(customer=customer, pk__in=open_invoices)
            .order_by("due_date", "issue_date", "number")
        )
        field.label_from_instance = self.invoice_label  # type: ignore[method-assign,assignment]

    @staticmethod
    def invoice_label(invoice: Invoice) -> str:
        return _("%(number)s of %(date)s, %(amount)s") % {
            "number": invoice.number,
            "date": formats.date_format(invoice.issue_date, "SHORT_DATE_FORMAT"),
            "amount": format_money_active(invoice.amount, invoice.currency),
        }

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if refusals := bounds.amount_refusals(amount):
            raise forms.ValidationError(refusals)
        return amount

    def save(self, *, user) -> Payment | None:
        data = self.cleaned_data
        return self.run(
            services.payment_record,
            created_by=user,
            customer=self.customer,
            date=data["date"],
            amount=data["amount"],
            method=data["method"],
            reference=data["reference"].strip(),
            invoice=data["invoice"],
        )


REASON_WIDGET = forms.Textarea(attrs={"rows": 2})


class CorrectionReasonForm(forms.Form):
    """The reason of a correction, recorded on the customer's timeline."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=REASON_WIDGET,
        help_text=_("Recorded on the customer's timeline with your name."),
    )

    def add_service_error(self, error: ValidationError) -> None:
        add_service_error(self, error)

    def run(self, service, **kwargs):
        """Call ``service`` with the reason; None (and form errors) when it refuses."""
        try:
            return service(reason=self.cleaned_data["reason"], **kwargs)
        except ValidationError as error:
            self.add_service_error(error)
            return None


class InvoiceEditForm(CorrectionReasonForm):
    """An invoice's details; what may change is the service's rule
    (``services.invoice_update``), shown here as errors."""

    po_number = forms.CharField(label=_("PO number"), max_length=60, required=False)
    issue_date = DayField(label=_("Issue date"))
    due_date = DayField(label=_("Due date"))
    amount = MoneyFormField(
        label=_("Amount incl. tax"), min_value=Decimal("0.01"), widget=MONEY_WIDGET
    )
    field_order = ["po_number", "issue_date", "due_date", "amount", "reason"]

    def __init__(self, *args, invoice: Invoice, **kwargs) -> None:
        self.invoice = invoice
        kwargs.setdefault(
            "initial",
            {
                "po_number": invoice.po_number,
                "issue_date": invoice.issue_date,
                "due_date": invoice.due_date,
                "amount": invoice.amount,
            },
        )
        super().__init__(*args, **kwargs)
        if invoice.is_credit_note:
            del self.fields["due_date"]

    def save(self, *, user) -> Invoice | None:
        data = self.cleaned_data
        return self.run(
            services.invoice_update,
            invoice=self.invoice,
            user=user,
            po_number=data["po_number"],
            issue_date=data["issue_date"],
            due_date=data.get("due_date"),
            amount=data["amount"],
        )


def _invoice_choices(customer: Customer, *, open_only: bool):
    invoices = Invoice.objects.active().invoices().filter(customer=customer)
    if open_only:
        invoices = invoices.filter(pk__in=Installment.objects.open().values("invoice"))
    return invoices.order_by("due_date", "issue_date", "number")


class CreditNoteForm(CorrectionReasonForm):
    """A credit note against one of the customer's invoices, or against the account."""

    credited_invoice = forms.ModelChoiceField(
        label=_("Credited invoice"),
        queryset=Invoice.objects.none(),
        required=False,
        empty_label=_("None: a credit on the account"),
    )
    number = forms.CharField(label=_("Credit note number"), max_length=40)
    amount = MoneyFormField(
        label=_("Amount incl. tax"), min_value=Decimal("0.01"), widget=MONEY_WIDGET
    )
    field_order = ["credited_invoice", "number", "amount", "reason"]

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        field = cast(forms.ModelChoiceField, self.fields["credited_invoice"])
        field.queryset = _invoice_choices(customer, open_only=False)
        field.label_from_instance = PaymentForm.invoice_label  # type: ignore[method-assign,assignment]

    def save(self, *, user) -> Invoice | None:
        data = self.cleaned_data
        return self.run(
            services.credit_note_issue,
            customer=self.customer,
            user=user,
            number=data["number"],
            amount=data["amount"],
            credited_invoice=data["credited_invoice"],
        )


class ReallocateForm(CorrectionReasonForm):
    invoice = forms.ModelChoiceField(
        label=_("Allocate to"),
        queryset=Invoice.objects.none(),
        required=False,
        empty_label=_("None: oldest installments first"),
        help_text=_("Whatever exceeds what is due stays as the customer's credit."),
    )
    field_order = ["invoice", "reason"]

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["invoice"])
        field.queryset = _invoice_choices(customer, open_only=False)
        field.label_from_instance = PaymentForm.invoice_label  # type: ignore[method-assign,assignment]
