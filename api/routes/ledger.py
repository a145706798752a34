"""Customers with their billing contacts, invoices with their plans, credit notes,
payments with their allocation, the aged balance: through the same services and the
same visibility as the pages."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from api import schemas as s
from api.auth import READ, WRITE
from api.pagination import paginate
from api.routes.common import get_visible, referenced, since, visible
from core import access
from customers import services as customer_services
from customers.models import Contact, Customer
from receivables import bounds, selectors, services
from receivables.models import Allocation, Dispute, Installment, Invoice, Payment

router = Router()

# --- customers ------------------------------------------------------------------------


def _customers(request: HttpRequest):
    return visible(Customer, request).prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.order_by("pk"))
    )


def customer_out(c: Customer) -> dict[str, Any]:
    fields = s.CustomerOut.model_fields
    data = {n: getattr(c, n) for n in fields if n not in ("sales_rep", "contacts")}
    data["sales_rep"] = c.sales_rep_id
    data["contacts"] = [
        {n: getattr(k, n) for n in s.ContactOut.model_fields} for k in c.contacts.all()
    ]
    return data


@router.get(
    "/customers", response=s.CustomerPage, auth=READ, url_name="customers", tags=["customers"]
)
def customer_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: s.Limit = 50,
    updated_since: s.Moment | None = None,
) -> dict[str, Any]:
    """The customers the token's user may see, by id, with their billing contacts."""
    qs = _customers(request).filter(since("updated_at", updated_since))
    return paginate(
        qs, cursor=cursor, limit=limit, serialize=lambda rows: [customer_out(c) for c in rows]
    )


@router.post(
    "/customers",
    response={201: s.CustomerOut},
    auth=WRITE,
    url_name="customers",
    tags=["customers"],
)
def customer_create(request: HttpRequest, payload: s.CustomerIn) -> Status:
    """Create a customer and its billing contacts, all or nothing (finance staff)."""
    user = request.auth.user  # type: ignore[attr-defined]
    fields = payload.dict(exclude={"contacts", "sales_rep"})
    rep = None
    if payload.sales_rep is not None:
        rep = User.objects.filter(
            pk=payload.sales_rep, is_active=True, groups__name=access.SALES
        ).first()
        if rep is None:
            raise ValidationError({"sales_rep": _("No active sales rep has this id.")})
    with transaction.atomic():
        customer = customer_services.customer_create(
            user=user, reason=_("Created through the API"), sales_rep=rep, **fields
        )
        for index, contact in enumerate(payload.contacts):
            try:
                customer_services.contact_create(customer=customer, user=user, **contact.dict())
            except ValidationError as error:
                raise ValidationError(
                    {
                        f"contacts.{index}.{name}": errors
                        for name, errors in getattr(
                            error, "error_dict", {"__all__": error.error_list}
                        ).items()
                    }
                ) from error
    return Status(201, customer_out(get_visible(_customers(request), customer.pk)))


@router.get(
    "/customers/{int:customer_id}",
    response=s.CustomerOut,
    auth=READ,
    url_name="customer",
    tags=["customers"],
)
def customer_detail(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    return customer_out(get_visible(_customers(request), customer_id))


# --- invoices -------------------------------------------------------------------------


def _invoices(request: HttpRequest):
    today = timezone.localdate()
    return selectors.with_invoice_status(
        visible(Invoice, request).prefetch_related(
            Prefetch("installments", queryset=Installment.objects.order_by("sequence")),
            Prefetch("credit_notes", queryset=Invoice.objects.only("pk", "credited_invoice_id")),
        ),
        today,
    )


def invoice_out(i: Any) -> dict[str, Any]:
    return {
        "id": i.pk,
        "number": i.number,
        "kind": i.kind,
        "customer": i.customer_id,
        "issue_date": i.issue_date,
        "due_date": i.due_date,
        "amount": i.amount,
        "currency": i.currency,
        "po_number": i.po_number,
        "payment_reference": i.payment_reference,
        "status": i.status,
        "left": i.left or 0,
        "cancelled_at": i.cancelled_at,
        "credited_invoice": i.credited_invoice_id,
        "credit_notes": [n.pk for n in i.credit_notes.all()],
        "installments": [
            {
                "id": p.pk,
                "sequence": p.sequence,
                "due_date": p.due_date,
                "amount": p.amount,
                "paid_amount": p.paid_amount,
                "left": p.amount - p.paid_amount,
            }
            for p in i.installments.all()
        ],
        "created_at": i.created_at,
    }


def _invoice_changed_since(moment: datetime.datetime | None) -> Q:
    """Created, cancelled, paid (an allocation), disputed or credited since ``moment``."""
    if moment is None:
        return Q()
    allocated = Allocation.objects.filter(
        Q(installment__invoice=OuterRef("pk")) | Q(credit_note=OuterRef("pk")),
        created_at__gte=moment,
    )
    disputed = Dispute.objects.filter(invoice=OuterRef("pk")).filter(
        Q(opened_at__gte=moment) | Q(resolved_at__gte=moment)
    )
    return (
        Q(created_at__gte=moment)
        | Q(cancelled_at__gte=moment)
        | Exists(allocated)
        | Exists(disputed)
    )


@router.get("/invoices", response=s.InvoicePage, auth=READ, url_name="invoices", tags=["invoices"])
def invoice_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: s.Limit = 50,
    customer: s.Id | None = None,
    status: selectors.InvoiceStatus | None = None,
    kind: Invoice.Kind | None = None,
    due_from: datetime.date | None = None,
    due_to: datetime.date | None = None,
    updated_since: s.Moment | None = None,
) -> dict[str, Any]:
    """Invoices and credit notes, by id; ``status`` is the invoice list's (open, overdue,
    disputed, paid, cancelled, credit_note); ``updated_since``: created, cancelled, paid,
    credited or disputed since."""
    qs = _invoices(request).filter(_invoice_changed_since(updated_since))
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if due_from is not None:
        qs = qs.filter(due_date__gte=due_from)
    if due_to is not None:
        qs = qs.filter(due_date__lte=due_to)
    return paginate(
        qs, cursor=cursor, limit=limit, serialize=lambda rows: [invoice_out(i) for i in rows]
    )


def _plan_args(payload: s.InvoiceIn | s.InvoiceUpsert) -> dict[str, Any]:
    custom = [(p.due_date, p.amount) for p in payload.custom] if payload.custom else None
    if payload.plan == "monthly" and not payload.parts:
        raise ValidationError({"parts": _("Give the number of monthly parts.")})
    if payload.plan == "custom" and not custom:
        raise ValidationError({"custom": _("A custom plan needs its parts.")})
    return {
        "plan": payload.plan,
        "parts": payload.parts if payload.plan == "monthly" else None,
        "custom": custom if payload.plan == "custom" else None,
    }


def _create_invoice(request: HttpRequest, payload: s.InvoiceIn | s.InvoiceUpsert, number: str):
    customer = referenced(visible(Customer, request), payload.customer, "customer")
    assert customer is not None
    fields = {
        "issue_date": payload.issue_date,
        "due_date": payload.due_date,
        "amount": payload.amount,
        "currency": payload.currency.upper(),
        "po_number": payload.po_number,
        "payment_reference": payload.payment_reference,
    }
    refusals: dict[str, list[str]] = {}
    if amount := bounds.amount_refusals(payload.amount):
        refusals["amount"] = amount
    if issued := bounds.not_too_far_refusals(payload.issue_date):
        refusals["issue_date"] = issued
    if due := bounds.due_date_refusals(payload.issue_date, payload.due_date):
        refusals["due_date"] = due
    elif payload.due_date < payload.issue_date:
        refusals["due_date"] = [_("The due date cannot be before the issue date.")]
    if refusals:
        raise ValidationError(refusals)
    with transaction.atomic():
        return services.invoice_create(
            customer=customer,
            number=number,
            confirmed=payload.confirmed,
            created_by=request.auth.user,  # type: ignore[attr-defined]
            **fields,
            **_plan_args(payload),
        )


@router.post(
    "/invoices", response={201: s.InvoiceOut}, auth=WRITE, url_name="invoices", tags=["invoices"]
)
def invoice_create(request: HttpRequest, payload: s.InvoiceIn) -> Status:
    """Create an invoice with its installment plan (single, 50_50, 30_30_40, monthly with
    ``parts``, or custom with ``custom``: the same plans as the web form, the parts summing
    to the total). An invoice issued more than a year ago, or without the PO number its
    customer requires, needs ``"confirmed": true``."""
    invoice = _create_invoice(request, payload, payload.number)
    return Status(201, invoice_out(get_visible(_invoices(request), invoice.pk)))


@router.get(
    "/invoices/{int:invoice_id}",
    response=s.InvoiceOut,
    auth=READ,
    url_name="invoice",
    tags=["invoices"],
)
def invoice_detail(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    return invoice_out(get_visible(_invoices(request), invoice_id))


@router.get(
    "/invoices/by-number/{number}",
    response=s.InvoiceOut,
    auth=READ,
    url_name="invoice_by_number",
    tags=["invoices"],
)
def invoice_by_number(request: HttpRequest, number: str) -> dict[str, Any]:
    found = _invoices(request).filter(number=number).first()
    if found is None:
        from django.http import Http404

        raise Http404
    return invoice_out(found)


@router.put(
    "/invoices/by-number/{number}",
    response={200: s.InvoiceOut, 201: s.InvoiceOut},
    auth=WRITE,
    url_name="invoice_by_number",
    tags=["invoices"],
)
def invoice_upsert(request: HttpRequest, number: str, payload: s.InvoiceUpsert) -> Status:
    """Create the invoice numbered ``number``, or bring it in line with the payload: a
    nightly sync may send the same invoice every night. An existing invoice is corrected
    through the same service as the page (the PO number always; the dates and amount as
    the correction rules allow, otherwise the refusal says why); its plan is left alone."""
    number = number.strip()
    if not number or len(number) > 40 or "\x00" in number:
        raise ValidationError({"number": _("An invoice number has 1 to 40 characters.")})
    with transaction.atomic():
        existing = Invoice.objects.select_for_update().filter(number=number).first()
        if existing is None:
            invoice = _create_invoice(request, payload, number)
            return Status(201, invoice_out(get_visible(_invoices(request), invoice.pk)))
        existing = get_visible(visible(Invoice, request), existing.pk)
        if existing.is_credit_note or existing.customer_id != payload.customer:
            raise ValidationError(
                {
                    "customer": _("Invoice %(number)s belongs to another customer.")
                    % {"number": number}
                }
            )
        changes = {
            name: value
            for name, value in (
                ("po_number", payload.po_number),
                ("issue_date", payload.issue_date),
                ("due_date", payload.due_date),
                ("amount", payload.amount),
            )
            if getattr(existing, name) != value
        }
        if changes:
            services.invoice_update(
                invoice=existing,
                user=request.auth.user,  # type: ignore[attr-defined]
                reason=_("Updated by the API (invoice sync)"),
                **changes,
            )
    return Status(200, invoice_out(get_visible(_invoices(request), existing.pk)))


@router.post(
    "/credit-notes",
    response={201: s.InvoiceOut},
    auth=WRITE,
    url_name="credit_notes",
    tags=["invoices"],
)
def credit_note_create(request: HttpRequest, payload: s.CreditNoteIn) -> Status:
    """Issue a credit note, applied to the invoice it credits (latest installments first);
    without one, or beyond it, it stays as the customer's credit."""
    customer = referenced(visible(Customer, request), payload.customer, "customer")
    credited = referenced(
        visible(Invoice, request).invoices(), payload.credited_invoice, "credited_invoice"
    )
    if amount := bounds.amount_refusals(payload.amount):
        raise ValidationError({"amount": amount})
    with transaction.atomic():
        note = services.credit_note_create(
            customer=customer,  # type: ignore[arg-type]
            number=payload.number,
            issue_date=payload.issue_date,
            amount=payload.amount,
            credited_invoice=credited,
            currency=payload.currency.upper(),
            created_by=request.auth.user,  # type: ignore[attr-defined]
        )
    return Status(201, invoice_out(get_visible(_invoices(request), note.pk)))


# --- payments -------------------------------------------------------------------------


def _payments(request: HttpRequest):
    return visible(Payment, request).prefetch_related(
        Prefetch(
            "allocations",
            queryset=Allocation.objects.live()
            .select_related("installment__invoice")
            .order_by("date", "pk"),
        )
    )


def payment_out(p: Payment) -> dict[str, Any]:
    return {
        "id": p.pk,
        "customer": p.customer_id,
        "date": p.date,
        "amount": p.amount,
        "allocated_amount": p.allocated_amount,
        "unallocated": p.unallocated,
        "method": p.method,
        "reference": p.reference,
        "returned_on": p.returned_on,
        "created_at": p.created_at,
        "allocations": [
            {
                "installment": a.installment_id,
                "invoice": a.installment.invoice_id,
                "invoice_number": a.installment.invoice.number,
                "amount": a.amount,
                "date": a.date,
            }
            for a in p.allocations.all()
        ],
    }


@router.get("/payments", response=s.PaymentPage, auth=READ, url_name="payments", tags=["payments"])
def payment_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: s.Limit = 50,
    customer: s.Id | None = None,
    updated_since: s.Moment | None = None,
) -> dict[str, Any]:
    """Payments with their live allocations, by id; ``updated_since``: recorded or
    (re)allocated since."""
    qs = _payments(request)
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    if updated_since is not None:
        moved = Allocation.objects.filter(payment=OuterRef("pk"), created_at__gte=updated_since)
        qs = qs.filter(Q(created_at__gte=updated_since) | Exists(moved))
    return paginate(
        qs, cursor=cursor, limit=limit, serialize=lambda rows: [payment_out(p) for p in rows]
    )


@router.post(
    "/payments", response={201: s.PaymentOut}, auth=WRITE, url_name="payments", tags=["payments"]
)
def payment_create(request: HttpRequest, payload: s.PaymentIn) -> Status:
    """Record a payment and allocate it: to the given installments, else to the given
    invoice, else oldest installments first; what is left stays as credit."""
    customer = referenced(visible(Customer, request), payload.customer, "customer")
    invoice = referenced(visible(Invoice, request).invoices(), payload.invoice, "invoice")
    installments = None
    if payload.installments:
        found = {
            i.pk: i
            for i in visible(Installment, request).filter(
                pk__in=payload.installments, invoice__customer=customer
            )
        }
        missing = [pk for pk in payload.installments if pk not in found]
        if missing:
            raise ValidationError(
                {
                    "installments": _("No such installment of this customer: %(ids)s.")
                    % {"ids": ", ".join(map(str, missing))}
                }
            )
        installments = [found[pk] for pk in payload.installments]
    if amount := bounds.amount_refusals(payload.amount):
        raise ValidationError({"amount": amount})
    with transaction.atomic():
        payment = services.payment_record(
            customer=customer,  # type: ignore[arg-type]
            date=payload.date,
            amount=payload.amount,
            method=payload.method,
            reference=payload.reference,
            invoice=invoice,
            installments=installments,
            created_by=request.auth.user,  # type: ignore[attr-defined]
        )
    return Status(201, payment_out(get_visible(_payments(request), payment.pk)))


@router.get(
    "/payments/{int:payment_id}",
    response=s.PaymentOut,
    auth=READ,
    url_name="payment",
    tags=["payments"],
)
def payment_detail(request: HttpRequest, payment_id: int) -> dict[str, Any]:
    return payment_out(get_visible(_payments(request), payment_id))


# --- aged balance ---------------------------------------------------------------------


@router.get(
    "/aged-balance",
    response=s.AgedBalanceOut,
    auth=READ,
    url_name="aged_balance",
    tags=["reports"],
)
def aged_balance(request: HttpRequest, as_of: datetime.date | None = None) -> dict[str, Any]:
    """The aged balance of the customers the token's user sees, as of any date (today by
    default): the figures of the aged-balance page."""
    day = as_of or timezone.localdate()
    if refusals := bounds.looked_at_refusals(day):
        raise ValidationError({"as_of": refusals})
    ab = selectors.aged_balance(user=request.auth.user, as_of=day)  # type: ignore[attr-defined]
    rows = [{"customer": r["customer_id"], **r} for r in ab.rows]
    return {"as_of": ab.as_of, "rows": rows, "totals": ab.totals}
