"""What a customer says from their page. Each write lands on the customer's timeline as
said "by the customer, from their page" (``Activity.by_customer``), dated for finance
staff today so it shows on their worklist ("Next actions due"), and uses the same rows
finance staff use: a :class:`PromiseToPay` (which holds the reminders like theirs and is
broken the same way), a :class:`Dispute` (which stops the invoice's reminders until they
resolve it), a :class:`PaymentClaim` ("I have paid": holds the reminders of its invoices
for the company's number of days), a :class:`CustomerRequest`."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import format_money
from customers.models import Activity, Customer
from receivables import bounds
from receivables.models import (
    CompanyProfile,
    CustomerRequest,
    Dispute,
    Invoice,
    PaymentClaim,
    PromiseToPay,
)
from receivables.models.disputes import promise_max_days


def _log(customer: Customer, kind: str, summary: str, body: str = "", outcome: str = "") -> None:
    Activity.objects.create(
        customer=customer,
        kind=kind,
        author=None,
        by_customer=True,
        summary=summary[:255],
        body=body,
        outcome=outcome,
        next_action_date=timezone.localdate(),
    )


def _money(customer: Customer, amount: Decimal) -> str:
    return format_money(amount, customer.language if customer.language in ("fr", "en") else "fr")


def _theirs(customer: Customer, invoices: list[Invoice]) -> list[Invoice]:
    if any(i.customer_id != customer.pk for i in invoices):
        raise ValidationError(_("That invoice belongs to another customer."))
    return invoices


def promise_latest(today: datetime.date) -> datetime.date:
    """The latest day a customer may promise on their page: the company's limit, never
    beyond the ledger's for any promise."""
    days = min(CompanyProfile.get().portal_promise_max_days, promise_max_days())
    return today + datetime.timedelta(days=days)


@transaction.atomic
def paid_claim_record(
    *,
    customer: Customer,
    paid_on: datetime.date,
    amount: Decimal,
    invoices: list[Invoice],
    proof: UploadedFile | None = None,
) -> PaymentClaim:
    """ "I have paid": holds the reminders of the named invoices (all the customer's open
    ones when none is named) for the company's ``portal_paid_hold_days``."""
    today = timezone.localdate()
    bounds.refuse(bounds.amount_refusals(amount))
    if paid_on > today:
        raise ValidationError(_("A payment cannot be dated in the future."))
    if paid_on < today - datetime.timedelta(days=366):
        raise ValidationError(_("A payment made more than a year ago: please call us."))
    invoices = _theirs(customer, invoices) or list(bounds.open_invoices(customer))
    hold = CompanyProfile.get().portal_paid_hold_days
    claim = PaymentClaim.objects.create(
        customer=customer,
        paid_on=paid_on,
        amount=amount,
        hold_until=today + datetime.timedelta(days=hold),
        proof=proof or "",
    )
    claim.invoices.set(invoices)
    numbers = ", ".join(i.number for i in invoices)
    _log(
        customer,
        Activity.Kind.PAYMENT,
        _("Says they paid %(amount)s on %(date)s (%(numbers)s); reminders held until %(until)s")
        % {
            "amount": _money(customer, amount),
            "date": paid_on.isoformat(),
            "numbers": numbers,
            "until": claim.hold_until.isoformat(),
        },
        outcome="claimed",
    )
    return claim


@transaction.atomic
def promise_from_page(
    *, customer: Customer, promised_date: datetime.date, amount: Decimal, invoices: list[Invoice]
) -> PromiseToPay:
    """ "I will pay on …": a promise like one finance staff record, within the company's
    limit for the page."""
    today = timezone.localdate()
    invoices = _theirs(customer, invoices)
    latest = promise_latest(today)
    if promised_date > latest:
        raise ValidationError(
            _("Please choose a day up to %(latest)s, or call us.") % {"latest": latest.isoformat()}
        )
    bounds.refuse(
        bounds.promise_refusals(
            customer=customer, promised_date=promised_date, amount=amount, invoices=invoices
        )
    )
    promise = PromiseToPay.objects.create(
        customer=customer, promised_date=promised_date, amount=amount, by_customer=True
    )
    if invoices:
        promise.invoices.set(invoices)
    numbers = ", ".join(i.number for i in invoices)
    _log(
        customer,
        Activity.Kind.PROMISE,
        _("Promise to pay %(amount)s by %(date)s")
        % {"amount": _money(customer, amount), "date": promised_date.isoformat()}
        + (f" ({numbers})" if numbers else ""),
        outcome="pending",
    )
    return promise


@transaction.atomic
def dispute_from_page(
    *,
    customer: Customer,
    invoice: Invoice,
    reason: str,
    description: str,
    attachment: UploadedFile | None = None,
) -> Dispute:
    """ "I dispute this invoice": opens a dispute (the invoice's reminders stop until
    finance staff resolve it)."""
    _theirs(customer, [invoice])
    if not bounds.open_invoices(customer).filter(pk=invoice.pk).exists():
        raise ValidationError(
            _("Nothing is left to pay on %(number)s: only an open invoice can be disputed.")
            % {"number": invoice.number}
        )
    if Dispute.objects.open().filter(invoice=invoice).exists():
        raise ValidationError(_("This invoice already has an open dispute."))
    dispute = Dispute.objects.create(
        invoice=invoice,
        reason=reason,
        description=description,
        by_customer=True,
        attachment=attachment or "",
    )
    _log(
        customer,
        Activity.Kind.DISPUTE,
        _("Dispute opened on %(invoice)s: %(reason)s")
        % {"invoice": invoice.number, "reason": dispute.get_reason_display()},
        body=description,
        outcome="opened",
    )
    return dispute


@transaction.atomic
def copy_request(*, customer: Customer, invoice: Invoice) -> CustomerRequest:
    """ "Send me a copy of the invoice"."""
    _theirs(customer, [invoice])
    request = CustomerRequest.objects.create(
        customer=customer, kind=CustomerRequest.Kind.COPY, invoice=invoice
    )
    _log(
        customer,
        Activity.Kind.NOTE,
        _("Asks for a copy of invoice %(number)s") % {"number": invoice.number},
    )
    return request


@transaction.atomic
def send_to_request(*, customer: Customer, email: str, text: str) -> CustomerRequest:
    """ "The invoices should go to …"."""
    request = CustomerRequest.objects.create(
        customer=customer, kind=CustomerRequest.Kind.SEND_TO, email=email, text=text
    )
    _log(
        customer,
        Activity.Kind.NOTE,
        _("Asks that invoices go to %(email)s") % {"email": email},
        body=text,
    )
    return request
