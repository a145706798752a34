"""What a formal notice says: its figures for its date (the claims of
receivables/interest.py), formatted for its language, and its rendering to HTML and PDF.
Everything a template prints is formatted here; customer data is never marked safe, so
Django's autoescape applies to all of it.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import NBSP, ZERO, format_money, to_cents
from core.payqr import qr_svg
from core.pdf import asset_url, render_pdf
from customers.models import Customer
from customers.portal_links import portal_url, short_code, token_for
from receivables.interest import (
    DAYS_PER_YEAR,
    LEGAL_MARGIN,
    RECOVERY_INDEMNITY,
    CustomerClaim,
    InvoiceClaim,
    MissingReferenceRateError,
    customer_late_claims,
)
from receivables.models import CompanyProfile
from receivables.paying import customer_transfer
from receivables.references import (
    customer_creditor_reference,
    format_creditor_reference,
    payment_reference,
)
from receivables.selectors import with_balances
from reminders.models import Reminder

logger = logging.getLogger(__name__)

Status = Reminder.Status
DEADLINE_DAYS = 8
TEMPLATE = "reminders/letters/formal_notice_{language}.html"
# The letter's layout (static/): parsed once per process, shared by every letter.
LETTER_STYLESHEET = "css/letter.css"
LANGUAGES = ("fr", "en")

# --- formatting: the letter is not rendered in a request, so no locale applies ----------

MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
CHANNELS = {
    "fr": {"email": "courriel", "letter": "courrier", "phone": "téléphone",
           "collection": "recouvrement"},
    "en": {"email": "email", "letter": "letter", "phone": "phone", "collection": "collection"},
}  # fmt: skip

# Country lines of postal addresses sent from France (UPU: in French, capitals).
COUNTRIES = {
    "BE": "BELGIQUE", "CH": "SUISSE", "LU": "LUXEMBOURG", "DE": "ALLEMAGNE",
    "ES": "ESPAGNE", "IT": "ITALIE", "GB": "ROYAUME-UNI", "NL": "PAYS-BAS",
    "IE": "IRLANDE", "PT": "PORTUGAL", "AT": "AUTRICHE", "MC": "MONACO",
    "US": "ÉTATS-UNIS", "CA": "CANADA",
}  # fmt: skip


def format_rate(rate: Decimal, language: str) -> str:
    """ "13,15 %" in French, "13.15%" in English."""
    text = f"{rate.quantize(Decimal('0.01'))}"
    return f"{text.replace('.', ',')}{NBSP}%" if language == "fr" else f"{text}%"


def format_date(day: datetime.date, language: str) -> str:
    """ "1er décembre 2026", "22 novembre 2026" in French; "22 November 2026" in English."""
    month = MONTHS[language][day.month - 1]
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    return f"{number}{NBSP}{month} {day.year}"


def format_short_date(day: datetime.date, language: str) -> str:
    """Dates in tables: "10/06/2025" in French, "10 Jun 2025" in English."""
    if language == "fr":
        return day.strftime("%d/%m/%Y")
    return f"{day.day} {MONTHS['en'][day.month - 1][:3]} {day.year}"


# --- what the letter says ----------------------------------------------------------------


class NothingOverdueError(ValidationError):
    """The customer owes nothing overdue on that date: there is no letter to write."""


@dataclass(frozen=True)
class PeriodLine:
    start: str
    end: str
    days: int
    base: str
    rate: str
    reference_rate: str  # "" for a contract rate
    interest: str


@dataclass(frozen=True)
class InvoiceLine:
    number: str
    issue_date: str
    due_date: str
    amount: str
    paid: str
    left: str
    not_yet_due: str  # "" when the whole rest is overdue
    days_late: int
    interest: str
    indemnity: str
    periods: tuple[PeriodLine, ...]


@dataclass(frozen=True)
class HistoryLine:
    date: str
    channel: str
    step: str
    tracking_number: str


@dataclass(frozen=True)
class LetterContext:
    """Everything the letter template prints, already formatted."""

    language: str
    customer: Customer
    company: CompanyProfile
    claim: CustomerClaim
    letter_date: datetime.date
    deadline: datetime.date
    place_and_date: str
    date_text: str
    deadline_text: str
    reference: str
    payment_reference: str
    invoices: tuple[InvoiceLine, ...]
    principal: str
    interest: str
    indemnities: str
    indemnity_per_invoice: str  # the fixed indemnity of D441-5, stated in the prose
    credit: str  # "" when the customer has no unallocated credit
    total: str
    total_amount: Decimal  # what the letter claims in all, less unallocated credit
    history: tuple[HistoryLine, ...]
    attention: str  # "À l'attention de …" line of the address block, may be ""
    country: str  # the country line of the address block, "" for France
    legal_rate: bool  # ECB + 10 points (else the contract rate): the ECB column shows
    rate_basis: str  # how the rate is set, in the letter's language
    days_per_year: int
    fonts: dict[str, str]
    # Pay without typing: the customer's creditor reference, the EPC QR code (inline SVG,
    # "" without the company's IBAN) and the link to the customer's page with its code.
    creditor_reference: str = ""
    qr_svg: str = ""
    portal_url: str = ""
    portal_code: str = ""

    def as_template_context(self) -> dict:
        return {"letter": self, "customer": self.customer, "company": self.company}


def _attention(customer: Customer) -> str:
    """The name of the billing contact who receives reminders, if any."""
    contact = customer.contacts.filter(reminder_role="to").exclude(name="").order_by("pk").first()
    return contact.name if contact is not None else ""


def letter_language(customer: Customer, reminder: Reminder | None = None) -> str:
    language = (reminder.language if reminder is not None else "") or customer.language
    return language if language in LANGUAGES else "fr"


def unallocated_credit(customer: Customer, as_of: datetime.date) -> Decimal:
    """Payments and credit notes of the customer not allocated to any invoice on that
    date: deducted on the letter, since the customer has paid them."""
    row = with_balances(Customer.objects.filter(pk=customer.pk), as_of).values("credit").first()
    return max(to_cents(row["credit"] if row else ZERO), ZERO)


def _invoice_line(claim: InvoiceClaim, language: str) -> InvoiceLine:
    currency = claim.invoice.currency

    def money(value: Decimal) -> str:
        return format_money(value, language, currency)

    periods = tuple(
        PeriodLine(
            start=format_short_date(p.start, language),
            end=format_short_date(p.end, language),
            days=p.days,
            base=money(p.base),
            rate=format_rate(p.rate, language),
            reference_rate=(
                format_rate(p.reference_rate, language) if p.reference_rate is not None else ""
            ),
            interest=money(p.interest),
        )
        for p in claim.interest.periods
    )
    return InvoiceLine(
        number=claim.invoice.number,
        issue_date=format_short_date(claim.invoice.issue_date, language),
        due_date=format_short_date(claim.first_overdue_due_date, language),
        amount=money(claim.amount),
        paid=money(claim.paid),
        left=money(claim.overdue_left),
        not_yet_due=money(claim.not_yet_due) if claim.not_yet_due > 0 else "",
        days_late=claim.days_late,
        interest=money(claim.interest.interest),
        indemnity=money(claim.indemnity),
        periods=periods,
    )


def reminder_history(
    customer: Customer, before: datetime.date, language: str
) -> tuple[HistoryLine, ...]:
    """The reminders already sent to the customer up to ``before``, oldest first."""
    rows = (
        Reminder.objects.filter(customer=customer, status=Status.SENT)
        .select_related("step")
        .order_by("sent_at", "run_date", "pk")
    )
    lines = []
    for r in rows:
        day = timezone.localdate(r.sent_at) if r.sent_at else (r.attempted_on or r.run_date)
        if day > before:
            continue
        lines.append(
            HistoryLine(
                date=format_short_date(day, language),
                channel=CHANNELS[language].get(r.channel, r.channel),
                step=r.step.label(language),
                tracking_number=r.tracking_number,
            )
        )
    return tuple(lines)


def build_letter_context(
    *,
    customer: Customer,
    letter_date: datetime.date,
    reminder: Reminder | None = None,
    company: CompanyProfile | None = None,
) -> LetterContext:
    """The formal notice ``customer`` gets if it is dated ``letter_date``. Raises
    :class:`NothingOverdueError` when nothing is overdue on that date."""
    company = company or CompanyProfile.get()
    language = letter_language(customer, reminder)
    try:
        claim = customer_late_claims(
            customer=customer, as_of=letter_date, contract_rate=company.late_interest_rate
        )
    except MissingReferenceRateError as exc:
        raise ValidationError(str(exc)) from exc
    if claim.is_empty:
        raise NothingOverdueError(
            _("%(customer)s has nothing overdue on %(date)s.")
            % {"customer": customer.customer_ref, "date": letter_date.isoformat()}
        )
    credit = unallocated_credit(customer, letter_date)
    total = claim.total - credit

    def money(value: Decimal) -> str:
        return format_money(value, language)

    deadline = letter_date + datetime.timedelta(days=DEADLINE_DAYS)
    if company.late_interest_rate is not None:
        rate_basis = (
            f"taux contractuel de {format_rate(company.late_interest_rate, 'fr')}"
            if language == "fr"
            else f"the contractual rate of {format_rate(company.late_interest_rate, 'en')}"
        )
    else:
        margin = f"{LEGAL_MARGIN:.0f}"
        rate_basis = (
            f"taux de refinancement de la BCE du semestre + {margin} points"
            if language == "fr"
            else f"the ECB main refinancing rate for the half-year + {margin} points"
        )
    place = company.city or ""
    date_text = format_date(letter_date, language)
    if language == "fr":
        place_and_date = f"{place}, le {date_text}" if place else f"Le {date_text}"
    else:
        place_and_date = f"{place}, {date_text}" if place else date_text
    return LetterContext(
        language=language,
        customer=customer,
        company=company,
        claim=claim,
        letter_date=letter_date,
        deadline=deadline,
        place_and_date=place_and_date,
        date_text=date_text,
        deadline_text=format_date(deadline, language),
        reference=(f"MED-{reminder.pk}" if reminder is not None and reminder.pk else ""),
        payment_reference=payment_reference(
            customer_ref=customer.customer_ref,
            invoice_numbers=[c.invoice.number for c in claim.invoices],
        ),
        invoices=tuple(_invoice_line(c, language) for c in claim.invoices),
        principal=money(claim.principal),
        interest=money(claim.interest),
        indemnities=money(claim.indemnities),
        indemnity_per_invoice=money(RECOVERY_INDEMNITY),
        credit=money(-credit) if credit > 0 else "",
        total=money(total),
        total_amount=total,
        history=reminder_history(customer, letter_date, language),
        attention=_attention(customer),
        country=COUNTRIES.get(customer.country.upper(), customer.country.upper())
        if customer.country.upper() != "FR"
        else "",
        legal_rate=company.late_interest_rate is None,
        rate_basis=rate_basis,
        days_per_year=DAYS_PER_YEAR,
        fonts={
            "regular": asset_url("fonts/DejaVuSans.ttf"),
            "bold": asset_url("fonts/DejaVuSans-Bold.ttf"),
        },
        **_pay_without_typing(customer, company, total, letter_date),
    )


def _pay_without_typing(
    customer: Customer, company: CompanyProfile, total: Decimal, letter_date: datetime.date
) -> dict[str, str]:
    transfer = customer_transfer(company, customer_id=customer.pk, amount=total)
    token = token_for(customer.pk, on=min(letter_date, timezone.localdate()))
    return {
        "creditor_reference": format_creditor_reference(customer_creditor_reference(customer.pk)),
        "qr_svg": qr_svg(transfer.payload(), scale=2) if transfer is not None else "",
        "portal_url": portal_url(token) if token else "",
        "portal_code": short_code(token) if token else "",
    }


def render_letter_html(context: LetterContext) -> str:
    return render_to_string(
        TEMPLATE.format(language=context.language), context.as_template_context()
    )


def render_letter_pdf(
    *, customer: Customer, letter_date: datetime.date, reminder: Reminder | None = None
) -> bytes:
    """The letter as PDF bytes (a preview: nothing is stored, sent or logged)."""
    context = build_letter_context(customer=customer, letter_date=letter_date, reminder=reminder)
    return render_pdf(render_letter_html(context), stylesheets=(LETTER_STYLESHEET,))


def letter_date_of(reminder: Reminder) -> datetime.date:
    """A letter is dated the day it was approved; before that, today (a preview)."""
    if reminder.approved_at is not None:
        return timezone.localdate(reminder.approved_at)
    return timezone.localdate()
