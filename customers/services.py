"""Writes to customers and their billing contacts, by finance staff.

Each service checks the right, validates the row the way the model says (SIREN, VAT
number, a reminder recipient needs an email…) and records what was done, by whom and why
as an Activity on the customer's timeline: nothing is written when anything is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import access
from customers.models import Activity, Contact, Customer
from customers.validators import compact_siren, compact_vat_number

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CUSTOMER_FIELDS: tuple[str, ...] = (
    "customer_ref",
    "name",
    "siren",
    "vat_number",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "language",
    "sales_rep",
    "payment_terms_days",
    "credit_limit",
    "insured_cover",
    "reminders_exempt",
    "direct_debit",
    "sepa_mandate",
    "notes",
)
CONTACT_FIELDS: tuple[str, ...] = (
    "name",
    "role",
    "email",
    "phone",
    "reminder_role",
    "receives_invoices",
    "invoice_channel",
    "invoice_instructions",
    "po_required",
)


def correction_log(
    *, customer: Customer, user: User | None, summary: str, reason: str = ""
) -> Activity:
    """Record a correction on the customer's timeline: who, what, and why."""
    return Activity.objects.create(
        customer=customer,
        kind=Activity.Kind.CORRECTION,
        author=user,
        summary=summary[:255],
        body=reason,
    )


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for this correction.")})
    return reason


def _assign(instance: Customer | Contact, allowed: tuple[str, ...], fields: dict[str, Any]):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(instance, name, value)
    if isinstance(instance, Customer):
        # Typed with spaces or dots as printed on a Kbis: stored compact, then checked.
        instance.siren = compact_siren(instance.siren)
        instance.vat_number = compact_vat_number(instance.vat_number)
        instance.customer_ref = instance.customer_ref.upper()
        instance.country = instance.country.upper()


def _changed(instance, before: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    return [
        str(instance._meta.get_field(n).verbose_name)
        for n in allowed
        if getattr(instance, n) != before[n]
    ]


@transaction.atomic
def customer_create(*, user: User, reason: str = "", **fields: Any) -> Customer:
    """Create a customer (the fields of ``CUSTOMER_FIELDS``)."""
    access.require(user, access.Action.EDIT_LEDGER)
    customer = Customer()
    _assign(customer, CUSTOMER_FIELDS, fields)
    customer.full_clean()
    customer.save()
    correction_log(
        customer=customer,
        user=user,
        summary=_("Customer created: %(name)s") % {"name": customer.name},
        reason=reason.strip(),
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, user: User, reason: str, **fields: Any) -> Customer:
    """Correct a customer's details; the fields changed and the reason go to the
    timeline. Nothing changed, nothing recorded."""
    access.require(user, access.Action.EDIT_LEDGER)
    reason = _require_reason(reason)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = {n: getattr(customer, n) for n in CUSTOMER_FIELDS}
    _assign(customer, CUSTOMER_FIELDS, fields)
    customer.full_clean()
    changed = _changed(customer, before, CUSTOMER_FIELDS)
    if not changed:
        return customer
    customer.save()
    correction_log(
        customer=customer,
        user=user,
        summary=_("Customer details corrected: %(fields)s") % {"fields": ", ".join(changed)},
        reason=reason,
    )
    return customer


@transaction.atomic
def contact_create(*, customer: Customer, user: User, reason: str = "", **fields: Any) -> Contact:
    """Add a billing contact to ``customer``."""
    access.require(user, access.Action.EDIT_LEDGER)
    contact = Contact(customer=customer)
    _assign(contact, CONTACT_FIELDS, fields)
    contact.full_clean()
    contact.save()
    correction_log(
        customer=customer,
        user=user,
        summary=_("Billing contact added: %(contact)s") % {"contact": contact},
        reason=reason.strip(),
    )
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, user: User, reason: str, **fields: Any) -> Contact:
    """Correct a billing contact; the fields changed and the reason go to the timeline."""
    access.require(user, access.Action.EDIT_LEDGER)
    reason = _require_reason(reason)
    contact = Contact.objects.select_for_update().select_related("customer").get(pk=contact.pk)
    before = {n: getattr(contact, n) for n in CONTACT_FIELDS}
    _assign(contact, CONTACT_FIELDS, fields)
    contact.full_clean()
    changed = _changed(contact, before, CONTACT_FIELDS)
    if not changed:
        return contact
    contact.save()
    correction_log(
        customer=contact.customer,
        user=user,
        summary=_("Billing contact %(contact)s corrected: %(fields)s")
        % {"contact": contact, "fields": ", ".join(changed)},
        reason=reason,
    )
    return contact
