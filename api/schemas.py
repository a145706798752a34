"""The API's JSON shapes (pydantic, through django-ninja): what comes in, refused field
by field before any service runs, and what goes out. Amounts are decimal strings with two
places ("1234.50"), dates ISO 8601."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.utils.timezone import is_aware, make_aware
from ninja import Schema
from pydantic import AfterValidator, Field

from core.money import MAX_DIGITS


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not accepted")
    return value.strip()


def Text(max_length: int) -> type[str]:
    return Annotated[str, Field(max_length=max_length), AfterValidator(_no_nul)]  # type: ignore[return-value]


Money = Annotated[Decimal, Field(max_digits=MAX_DIGITS, decimal_places=2, allow_inf_nan=False)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Limit = Annotated[int, Field(ge=1, le=200)]


def _reasonable_moment(value: datetime.datetime) -> datetime.datetime:
    """An aware moment between 1900 and 9000 (a naive one is read in local time)."""
    if not 1900 <= value.year <= 9000:
        raise ValueError("a moment between the years 1900 and 9000")
    return value if is_aware(value) else make_aware(value)


Moment = Annotated[datetime.datetime, AfterValidator(_reasonable_moment)]


# --- customers ------------------------------------------------------------------------


class ContactIn(Schema):
    name: Text(200) = ""  # type: ignore[valid-type]
    role: Text(100) = ""  # type: ignore[valid-type]
    email: Text(254) = ""  # type: ignore[valid-type]
    phone: Text(40) = ""  # type: ignore[valid-type]
    reminder_role: Literal["to", "cc", "none"] = "to"
    receives_invoices: bool = True
    invoice_channel: Literal["email", "post", "portal"] = "email"
    invoice_instructions: Text(2000) = ""  # type: ignore[valid-type]
    po_required: bool = False


class ContactOut(ContactIn):
    id: int


class CustomerIn(Schema):
    customer_ref: Text(40)  # type: ignore[valid-type]
    name: Text(200)  # type: ignore[valid-type]
    siren: Text(20) = ""  # type: ignore[valid-type]
    vat_number: Text(30) = ""  # type: ignore[valid-type]
    address_line1: Text(200) = ""  # type: ignore[valid-type]
    address_line2: Text(200) = ""  # type: ignore[valid-type]
    postal_code: Text(20) = ""  # type: ignore[valid-type]
    city: Text(100) = ""  # type: ignore[valid-type]
    country: Text(2) = "FR"  # type: ignore[valid-type]
    language: Literal["fr", "en"] = "fr"
    sales_rep: Id | None = None
    payment_terms_days: int = Field(30, ge=0, le=3650)
    credit_limit: Money | None = None
    insured_cover: Money | None = None
    reminders_exempt: bool = False
    direct_debit: bool = False
    sepa_mandate: Text(35) = ""  # type: ignore[valid-type]
    notes: Text(5000) = ""  # type: ignore[valid-type]
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)


class CustomerOut(Schema):
    id: int
    customer_ref: str
    name: str
    siren: str
    vat_number: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str
    language: str
    sales_rep: int | None
    payment_terms_days: int
    credit_limit: Decimal | None
    insured_cover: Decimal | None
    reminders_exempt: bool
    reminders_paused_until: datetime.date | None
    direct_debit: bool
    sepa_mandate: str
    notes: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    contacts: list[ContactOut]


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


# --- invoices and credit notes --------------------------------------------------------


class PlanPart(Schema):
    due_date: datetime.date
    amount: Money


PlanName = Literal["single", "50_50", "30_30_40", "monthly", "custom"]


class InvoiceIn(Schema):
    customer: Id
    number: Text(40)  # type: ignore[valid-type]
    issue_date: datetime.date
    due_date: datetime.date
    amount: Money
    currency: Text(3) = "EUR"  # type: ignore[valid-type]
    po_number: Text(60) = ""  # type: ignore[valid-type]
    payment_reference: Text(140) = ""  # type: ignore[valid-type]
    plan: PlanName = "single"
    parts: int | None = Field(None, ge=2, le=120)
    custom: list[PlanPart] | None = Field(None, max_length=120)
    confirmed: bool = False


class InvoiceUpsert(Schema):
    """PUT by number: the invoice as the sending software has it."""

    customer: Id
    issue_date: datetime.date
    due_date: datetime.date
    amount: Money
    currency: Text(3) = "EUR"  # type: ignore[valid-type]
    po_number: Text(60) = ""  # type: ignore[valid-type]
    payment_reference: Text(140) = ""  # type: ignore[valid-type]
    plan: PlanName = "single"
    parts: int | None = Field(None, ge=2, le=120)
    custom: list[PlanPart] | None = Field(None, max_length=120)
    confirmed: bool = False


class CreditNoteIn(Schema):
    customer: Id
    number: Text(40)  # type: ignore[valid-type]
    issue_date: datetime.date
    amount: Money
    credited_invoice: Id | None = None
    currency: Text(3) = "EUR"  # type: ignore[valid-type]


class InstallmentOut(Schema):
    id: int
    sequence: int
    due_date: datetime.date
    amount: Decimal
    paid_amount: Decimal
    left: Decimal


class InvoiceOut(Schema):
    id: int
    number: str
    kind: str
    customer: int
    issue_date: datetime.date
    due_date: datetime.date
    amount: Decimal
    currency: str
    po_number: str
    payment_reference: str
    status: str
    left: Decimal
    cancelled_at: datetime.datetime | None
    credited_invoice: int | None
    credit_notes: list[int]
    installments: list[InstallmentOut]
    created_at: datetime.datetime


class InvoicePage(Schema):
    items: list[InvoiceOut]
    next_cursor: str | None


# --- payments -------------------------------------------------------------------------


class PaymentIn(Schema):
    customer: Id
    date: datetime.date
    amount: Money
    method: Literal["transfer", "cheque", "card", "direct_debit", "other"] = "transfer"
    reference: Text(100) = ""  # type: ignore[valid-type]
    invoice: Id | None = None
    installments: list[Id] | None = Field(None, max_length=500)


class AllocationOut(Schema):
    installment: int
    invoice: int
    invoice_number: str
    amount: Decimal
    date: datetime.date


class PaymentOut(Schema):
    id: int
    customer: int
    date: datetime.date
    amount: Decimal
    allocated_amount: Decimal
    unallocated: Decimal
    method: str
    reference: str
    returned_on: datetime.date | None
    created_at: datetime.datetime
    allocations: list[AllocationOut]


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None


# --- aged balance ---------------------------------------------------------------------


class AgedRow(Schema):
    customer: int
    customer_ref: str
    customer_name: str
    not_due: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    total: Decimal


class AgedTotals(Schema):
    not_due: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    total: Decimal


class AgedBalanceOut(Schema):
    as_of: datetime.date
    rows: list[AgedRow]
    totals: AgedTotals


# --- follow-up ------------------------------------------------------------------------


class DisputeIn(Schema):
    invoice: Id
    reason: Literal["price", "quality", "not_received", "po_missing", "already_paid", "other"]
    description: Text(5000) = ""  # type: ignore[valid-type]


class DisputeResolveIn(Schema):
    resolution: Text(5000) = ""  # type: ignore[valid-type]


class DisputeOut(Schema):
    id: int
    invoice: int
    customer: int
    reason: str
    description: str
    opened_at: datetime.datetime
    resolved_at: datetime.datetime | None
    resolution: str


class DisputePage(Schema):
    items: list[DisputeOut]
    next_cursor: str | None


class PromiseIn(Schema):
    customer: Id
    promised_date: datetime.date
    amount: Money
    invoices: list[Id] = Field(default_factory=list, max_length=200)
    note: Text(5000) = ""  # type: ignore[valid-type]


class PromiseOut(Schema):
    id: int
    customer: int
    promised_date: datetime.date
    amount: Decimal
    status: str
    note: str
    invoices: list[int]
    created_at: datetime.datetime


class PromisePage(Schema):
    items: list[PromiseOut]
    next_cursor: str | None


class ActivityIn(Schema):
    customer: Id
    kind: Literal["call", "note"] = "note"
    summary: Text(255)  # type: ignore[valid-type]
    body: Text(5000) = ""  # type: ignore[valid-type]
    outcome: Text(100) = ""  # type: ignore[valid-type]
    next_action_date: datetime.date | None = None


class ActivityOut(Schema):
    id: int
    customer: int
    kind: str
    author: int | None
    occurred_at: datetime.datetime
    summary: str
    body: str
    outcome: str
    next_action_date: datetime.date | None


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class ReminderOut(Schema):
    id: int
    customer: int
    step: str
    channel: str
    status: str
    run_date: datetime.date
    sent_at: datetime.datetime | None
    subject: str
    recipients: dict
    message_id: str
    tracking_number: str
    document_sha256: str | None


class ReminderPage(Schema):
    items: list[ReminderOut]
    next_cursor: str | None


class ImportRunOut(Schema):
    id: int
    kind: str
    status: str
    stage: str
    progress_done: int
    progress_total: int
    can_commit: bool
    file_name: str
    sha256: str
    size: int
    created_at: datetime.datetime
    counts: list
    refused_rows: list
    error: str


class ImportRunPage(Schema):
    items: list[ImportRunOut]
    next_cursor: str | None
