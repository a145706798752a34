"""Importing an electronic invoice: its :class:`EDocument` is checked against the ledger
(seller, buyer found or created, the same document never twice, bounds) and written in
one transaction or not at all. The same document (same number) imported again, in any
syntax or profile, changes nothing.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from receivables import bounds, services
from receivables.imports.base import Outcome, writing_line
from receivables.imports.einvoices.documents import EDocument, EInvoiceError, Party
from receivables.models import CompanyProfile, Invoice, validate_ledger_currency
from receivables.references import compact_reference

TERMS_DAYS = re.compile(r"(\d{1,3})\s*(?:jours?|days?|j\b|tage?)", re.IGNORECASE)


@dataclass
class EInvoicePlan:
    document: EDocument
    customer: Customer
    new_customer: bool
    due_date: datetime.date
    unchanged: bool = False
    confirmed: bool = False
    pdf: bytes | None = None
    notes: list[str] = field(default_factory=list)


# --- planning and writing ------------------------------------------------------------------


def plan_document(
    document: EDocument, pdf: bytes | None = None, *, confirmed: bool = False
) -> EInvoicePlan:
    """Check ``document`` against the ledger; raises :class:`EInvoiceError`; writes nothing."""
    problems: list[str] = []
    try:
        validate_ledger_currency(document.currency)
    except ValidationError as exc:
        problems.extend(exc.messages)
    company = CompanyProfile.get()
    company_siren = company.siren
    if company_siren and document.seller.siren != company_siren:
        problems.append(
            _(
                "the document was issued by %(seller)s (SIREN %(siren)s), not by your company "
                "(SIREN %(ours)s)."
            )
            % {
                "seller": document.seller.name or "?",
                "siren": document.seller.siren or "?",
                "ours": company_siren,
            }
        )
    if not document.buyer.name:
        problems.append(_("the document has no %(label)s.") % {"label": _("buyer name")})
    for label, value in ((_("total with tax"), document.total), (_("amount due"), document.due)):
        if value < 0:
            problems.append(_("%(label)s is negative.") % {"label": label})
    if document.due > document.total:
        problems.append(
            _("the amount due %(due)s is more than the total %(total)s.")
            % {"due": document.due, "total": document.total}
        )
    if len(document.number) > 40:
        problems.append(_("the invoice number is longer than 40 characters."))
    if problems:
        raise EInvoiceError(" ".join(problems))

    customer, new_customer = _customer_for(document.buyer)
    due_date = document.due_date or _due_from_terms(document, customer)
    plan = EInvoicePlan(
        document=document,
        customer=customer,
        new_customer=new_customer,
        due_date=due_date,
        pdf=pdf,
        confirmed=confirmed,
    )
    existing = Invoice.objects.select_related("customer").filter(number=document.number).first()
    if existing is not None:
        same = (
            existing.is_credit_note == document.credit_note
            and existing.amount == document.total
            and existing.issue_date == document.issue_date
            and (new_customer is False and existing.customer_id == customer.pk)
        )
        if not same:
            raise EInvoiceError(
                _(
                    "%(number)s is already in the ledger with different data (customer "
                    "%(customer)s, amount %(amount)s)."
                )
                % {
                    "number": document.number,
                    "customer": existing.customer.name,
                    "amount": existing.amount,
                }
            )
        plan.unchanged = True
        plan.notes.append(
            _("%(number)s is already in the ledger: nothing changed.") % {"number": document.number}
        )
    else:
        _check_bounds(plan)
    iban = compact_reference(document.iban)
    if iban and company.iban and iban != compact_reference(company.iban):
        # Invoice fraud changes the bank details of a genuine-looking invoice.
        plan.notes.append(
            _(
                "%(number)s asks to be paid to IBAN %(iban)s, not to your company's "
                "%(ours)s: check the document was not tampered with."
            )
            % {"number": document.number, "iban": iban, "ours": compact_reference(company.iban)}
        )
    return plan


def _check_bounds(plan: EInvoicePlan) -> None:
    """The ledger's bounds (receivables/bounds.py), checked before writing so that a dry
    run reports them too; the services check them again when writing."""
    doc = plan.document
    refusals = bounds.amount_refusals(doc.total)
    warnings: list[str] = []
    if doc.credit_note:
        refusals += bounds.not_future_refusals(
            doc.issue_date, what=_("A credit note cannot be dated in the future.")
        )
    else:
        refusals += bounds.issue_date_refusals(doc.issue_date, plan.due_date)
        warnings = bounds.old_date_warnings(doc.issue_date) + bounds.po_warnings(
            plan.customer, doc.po_number, required=False if plan.new_customer else None
        )
    if refusals:
        raise EInvoiceError(" ".join(refusals))
    if warnings and not plan.confirmed:
        raise EInvoiceError(
            _("%(warnings)s Add --confirmed to import it anyway.")
            % {"warnings": " ".join(warnings)}
        )


def _customer_for(buyer: Party) -> tuple[Customer, bool]:
    """By SIREN, then VAT number, then exact name; else a new (unsaved) customer."""
    for lookup, value in (("siren", buyer.siren), ("vat_number", buyer.vat_number)):
        if value:
            found = Customer.objects.filter(**{lookup: value}).order_by("pk").first()
            if found is not None:
                return found, False
    found = Customer.objects.filter(name=buyer.name).order_by("pk").first()
    if found is not None:
        return found, False
    customer = Customer(
        customer_ref=_new_ref(buyer),
        name=buyer.name[:200],
        siren=buyer.siren,
        vat_number=buyer.vat_number[:20],
        address_line1=buyer.address_line1[:200],
        address_line2=buyer.address_line2[:200],
        postal_code=buyer.postal_code[:20],
        city=buyer.city[:100],
        country=(buyer.country or "FR")[:2].upper(),
    )
    try:
        customer.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise EInvoiceError(
            _("the buyer %(name)s cannot be created as a customer: %(reason)s")
            % {"name": buyer.name, "reason": " ".join(exc.messages)}
        ) from exc
    return customer, True


def _new_ref(buyer: Party) -> str:
    base = "411" + (buyer.siren or re.sub(r"[^A-Z0-9]", "", buyer.name.upper())[:20] or "CLIENT")
    ref, n = base, 1
    while Customer.objects.filter(customer_ref=ref).exists():
        n += 1
        ref = f"{base}-{n}"
    return ref


def _due_from_terms(document: EDocument, customer: Customer) -> datetime.date:
    match = TERMS_DAYS.search(document.terms)
    days = int(match.group(1)) if match else customer.payment_terms_days
    return document.issue_date + datetime.timedelta(days=days)


def _credited(plan: EInvoicePlan) -> Invoice | None:
    """The customer's invoice a credit note names (BT-25), when it is in the ledger."""
    number = plan.document.credited_number
    if not number or plan.new_customer:
        return None
    return Invoice.objects.active().invoices().filter(number=number, customer=plan.customer).first()


def describe(plan: EInvoicePlan) -> Outcome:
    doc = plan.document
    created = 0 if plan.unchanged else 1
    return Outcome(
        counts=[
            (_("customers created"), 1 if plan.new_customer else 0),
            (_("credit notes created") if doc.credit_note else _("invoices created"), created),
            (_("documents unchanged"), 1 - created),
            (_("customer"), plan.customer.name),
            (_("amount due"), doc.due),
        ],
        notes=plan.notes,
    )


def apply(plan: EInvoicePlan) -> Outcome:
    """Write the plan; the caller holds the transaction."""
    if plan.unchanged:
        return describe(plan)
    doc = plan.document
    with writing_line(None):
        if plan.new_customer:
            plan.customer.save()
        if doc.credit_note:
            invoice = services.credit_note_create(
                customer=plan.customer,
                number=doc.number,
                issue_date=doc.issue_date,
                amount=doc.total,
                currency=doc.currency,
                credited_invoice=_credited(plan),
            )
        else:
            invoice = services.invoice_create(
                customer=plan.customer,
                number=doc.number,
                issue_date=doc.issue_date,
                due_date=max(plan.due_date, doc.issue_date),
                amount=doc.total,
                currency=doc.currency,
                po_number=doc.po_number[:60],
                payment_reference=doc.payment_reference[:140],
                confirmed=plan.confirmed,
            )
            if doc.due < doc.total:
                services.payment_record(
                    customer=plan.customer,
                    date=min(doc.issue_date, timezone.localdate()),
                    amount=doc.total - doc.due,
                    reference=_("prepaid (invoice %(number)s)") % {"number": doc.number},
                    invoice=invoice,
                )
        if plan.pdf is not None:
            invoice.pdf.save(
                f"{re.sub(r'[^A-Za-z0-9_-]', '_', doc.number)}.pdf", ContentFile(plan.pdf)
            )
    return describe(plan)
