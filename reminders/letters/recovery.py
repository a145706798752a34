"""The recovery file ("dossier de recouvrement"): one ZIP per customer holding what a
collection agency, a lawyer or the court's "injonction de payer" form asks for.

Contents (file names are in French, as the file goes to French agencies and courts):

- ``00-recapitulatif.pdf``: creditor and debtor identities, the claim as of the date
  (principal, late interest with the rates used, indemnities), the statement of account,
  the invoices, the full reminder log, and the formal notices sent with their
  registered-post numbers and the SHA-256 of each stored letter;
- ``01-factures.csv``, ``02-releve-de-compte.csv``, ``03-relances.csv``: the same data
  for machines (comma separated, ISO dates, amounts with a dot), written by
  :mod:`core.exports` (no text cell can carry a spreadsheet formula);
- ``mises-en-demeure/``: the stored PDF of every formal notice, byte for byte;
- ``factures/``: the invoices' own PDFs when the ledger holds them.

Who may download it: finance staff and managers (``access.Action.EXPORT``). Sales reps may
not, even for their own customers: handing a debt to recovery is a finance decision, and
the file carries the whole ledger history of the customer.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core import access
from core.access import AnyUser
from core.exports import csv_bytes
from core.money import ZERO, format_money
from core.pdf import asset_url, render_pdf
from customers.models import Customer
from receivables.interest import MissingReferenceRateError, customer_late_claims
from receivables.models import (
    Allocation,
    CompanyProfile,
    Dispute,
    Installment,
    Invoice,
    Payment,
)
from receivables.references import payment_reference
from reminders.letters.context import (
    CHANNELS,
    format_date,
    format_rate,
    format_short_date,
    unallocated_credit,
)
from reminders.models import Reminder, ReminderItem

LANGUAGE = "fr"
SUMMARY_TEMPLATE = "reminders/letters/recovery_summary.html"
METHODS_FR = {
    "transfer": "virement",
    "cheque": "chèque",
    "card": "carte",
    "direct_debit": "prélèvement",
    "other": "autre",
}
STATUS_FR = {
    "planned": "planifiée",
    "awaiting_approval": "en attente d’approbation",
    "sending": "approuvée, à poster",
    "sent": "envoyée",
    "failed": "échec",
    "unknown": "à vérifier",
    "cancelled": "annulée",
    "todo": "à faire",
    "done": "faite",
}


@dataclass(frozen=True)
class InvoiceRow:
    number: str
    po_number: str
    issue_date: datetime.date
    due_date: datetime.date
    amount: Decimal
    paid: Decimal
    left: Decimal
    overdue_left: Decimal
    days_late: int
    status: str
    interest: Decimal
    indemnity: Decimal


@dataclass(frozen=True)
class StatementRow:
    date: datetime.date
    label: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass(frozen=True)
class LogRow:
    date: datetime.date
    channel: str
    step: str
    status: str
    amount: Decimal
    invoices: str
    sent_at: datetime.datetime | None
    approved_by: str
    approved_at: datetime.datetime | None
    tracking_number: str
    subject: str
    pdf_name: str
    pdf_sha256: str


def _money(value: Decimal) -> str:
    return format_money(value, LANGUAGE)


def customer_for_recovery(*, user: AnyUser, customer_id: int) -> Customer:
    access.require(
        user,
        access.Action.EXPORT,
        _("Only finance staff and managers may download a recovery file."),
    )
    customer = Customer.objects.visible_to(user).filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


def _invoice_rows(customer: Customer, as_of: datetime.date, claims: dict) -> list[InvoiceRow]:
    invoices = (
        Invoice.objects.invoices()
        .filter(customer=customer, issue_date__lte=as_of)
        .annotate(disputed=Exists(Dispute.objects.open().filter(invoice=OuterRef("pk"))))
        .prefetch_related(
            Prefetch(
                "installments",
                queryset=Installment.objects.prefetch_related(
                    Prefetch("allocations", queryset=Allocation.objects.filter(date__lte=as_of))
                ),
            )
        )
        .order_by("issue_date", "number")
    )
    rows = []
    for inv in invoices:
        installments = list(inv.installments.all())
        paid = sum((a.amount for i in installments for a in i.allocations.all()), ZERO)
        left = inv.amount - paid
        claim = claims.get(inv.pk)
        if inv.is_cancelled:
            status = "annulée"
        elif left <= 0:
            status = "payée"
        elif inv.disputed:
            status = "en litige"
        elif claim is not None:
            status = "échue"
        else:
            status = "non échue"
        rows.append(
            InvoiceRow(
                number=inv.number,
                po_number=inv.po_number,
                issue_date=inv.issue_date,
                due_date=inv.due_date,
                amount=inv.amount,
                paid=paid,
                left=ZERO if inv.is_cancelled else left,
                overdue_left=claim.overdue_left if claim else ZERO,
                days_late=claim.days_late if claim else 0,
                status=status,
                interest=claim.interest.interest if claim else ZERO,
                indemnity=claim.indemnity if claim else ZERO,
            )
        )
    return rows


def _statement(customer: Customer, as_of: datetime.date) -> list[StatementRow]:
    """The statement of account: invoices as debits, credit notes and payments as
    credits, in date order, with the running balance."""
    entries: list[tuple[datetime.date, int, str, Decimal, Decimal]] = []
    for inv in Invoice.objects.active().filter(customer=customer, issue_date__lte=as_of):
        if inv.is_credit_note:
            entries.append((inv.issue_date, 1, f"Avoir {inv.number}", ZERO, inv.amount))
        else:
            entries.append((inv.issue_date, 0, f"Facture {inv.number}", inv.amount, ZERO))
    for p in Payment.objects.filter(customer=customer).counting_on(as_of):
        method = METHODS_FR.get(p.method, p.method)
        label = f"Règlement ({method}){' ' + p.reference if p.reference else ''}"
        entries.append((p.date, 2, label, ZERO, p.amount))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    balance = ZERO
    rows = []
    for day, _order, label, debit, credit in entries:
        balance += debit - credit
        rows.append(StatementRow(day, label, debit, credit, balance))
    return rows


def _log(customer: Customer, stored: dict[int, tuple[str, str]]) -> list[LogRow]:
    reminders = (
        Reminder.objects.filter(customer=customer)
        .select_related("step", "approved_by")
        .prefetch_related(
            Prefetch("items", queryset=ReminderItem.objects.select_related("installment__invoice"))
        )
        .order_by("run_date", "pk")
    )
    rows = []
    for r in reminders:
        numbers = dict.fromkeys(i.installment.invoice.number for i in r.items.all())
        name, digest = stored.get(r.pk, ("", ""))
        rows.append(
            LogRow(
                date=r.run_date,
                channel=CHANNELS[LANGUAGE].get(r.channel, r.channel),
                step=r.step.label(LANGUAGE),
                status=STATUS_FR.get(r.status, r.status),
                amount=r.total_amount,
                invoices=", ".join(numbers),
                sent_at=r.sent_at,
                approved_by=(r.approved_by.get_full_name() or r.approved_by.username)
                if r.approved_by
                else "",
                approved_at=r.approved_at,
                tracking_number=r.tracking_number,
                subject=r.subject,
                pdf_name=name,
                pdf_sha256=digest,
            )
        )
    return rows


def _local(value: datetime.datetime | None) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else ""


def build_recovery_file(*, customer: Customer, as_of: datetime.date | None = None) -> bytes:
    """The ZIP's bytes for ``customer`` as of ``as_of`` (default today). Raises
    :class:`ValidationError` with the letter pages' message when an invoice is older than
    the first ECB reference rate recorded (its interest cannot be computed)."""
    as_of = as_of or timezone.localdate()
    company = CompanyProfile.get()
    try:
        claim = customer_late_claims(
            customer=customer, as_of=as_of, contract_rate=company.late_interest_rate
        )
    except MissingReferenceRateError as exc:
        raise ValidationError(str(exc)) from exc
    claims = {c.invoice.pk: c for c in claim.invoices}
    invoices = _invoice_rows(customer, as_of, claims)
    statement = _statement(customer, as_of)

    files: dict[str, bytes] = {}
    stored: dict[int, tuple[str, str]] = {}
    for r in Reminder.objects.filter(customer=customer, channel=Reminder.Channel.LETTER).exclude(
        pdf=""
    ):
        with r.pdf.open("rb") as f:
            data = f.read()
        tracking = slugify(r.tracking_number) or "non-poste"
        name = f"mises-en-demeure/{r.run_date.isoformat()}-MED-{r.pk}-{tracking}.pdf"
        files[name] = data
        stored[r.pk] = (name, hashlib.sha256(data).hexdigest())
    for inv in Invoice.objects.filter(customer=customer).exclude(pdf=""):
        try:
            with inv.pdf.open("rb") as f:
                files[f"factures/{slugify(inv.number) or inv.pk}.pdf"] = f.read()
        except OSError:
            continue  # a missing file must not block the rest of the file
    log = _log(customer, stored)
    credit = unallocated_credit(customer, as_of)
    log_lines: list[dict[str, Any]] = [
        {
            "row": r,
            "date": format_short_date(r.date, LANGUAGE),
            "sent_at": _local(r.sent_at),
            "approved_at": _local(r.approved_at),
            "amount": _money(r.amount) if r.amount else "",
        }
        for r in log
    ]

    summary_html = render_to_string(
        SUMMARY_TEMPLATE,
        {
            "customer": customer,
            "company": company,
            "contacts": list(customer.contacts.all()),
            "as_of": format_date(as_of, LANGUAGE),
            "claim": claim,
            "claims": [
                {
                    "number": c.invoice.number,
                    "due": format_short_date(c.first_overdue_due_date, LANGUAGE),
                    "left": _money(c.overdue_left),
                    "days_late": c.days_late,
                    "interest": _money(c.interest.interest),
                    "indemnity": _money(c.indemnity),
                    "rates": ", ".join(format_rate(r, LANGUAGE) for r in c.interest.rates),
                }
                for c in claim.invoices
            ],
            "principal": _money(claim.principal),
            "interest": _money(claim.interest),
            "indemnities": _money(claim.indemnities),
            "credit": _money(-credit) if credit > 0 else "",
            "total": _money(claim.total - credit),
            "payment_reference": payment_reference(
                customer_ref=customer.customer_ref,
                invoice_numbers=[c.invoice.number for c in claim.invoices],
            ),
            "invoices": [
                {
                    "row": i,
                    "issue": format_short_date(i.issue_date, LANGUAGE),
                    "due": format_short_date(i.due_date, LANGUAGE),
                    "amount": _money(i.amount),
                    "paid": _money(i.paid),
                    "left": _money(i.left),
                }
                for i in invoices
            ],
            "statement": [
                {
                    "date": format_short_date(s.date, LANGUAGE),
                    "label": s.label,
                    "debit": _money(s.debit) if s.debit else "",
                    "credit": _money(s.credit) if s.credit else "",
                    "balance": _money(s.balance),
                }
                for s in statement
            ],
            "log": log_lines,
            "letters": [line for line in log_lines if line["row"].pdf_name],
            "attachments": sorted(files),
            "fonts": {
                "regular": asset_url("fonts/DejaVuSans.ttf"),
                "bold": asset_url("fonts/DejaVuSans-Bold.ttf"),
            },
        },
    )
    files["00-recapitulatif.pdf"] = render_pdf(summary_html)
    files["01-factures.csv"] = csv_bytes(
        [
            "invoice_number", "po_number", "issue_date", "due_date", "amount", "paid", "left",
            "overdue_left", "days_late", "status", "late_interest", "recovery_indemnity",
        ],
        [
            [
                i.number, i.po_number, i.issue_date, i.due_date, i.amount, i.paid, i.left,
                i.overdue_left, i.days_late, i.status, i.interest, i.indemnity,
            ]
            for i in invoices
        ],
    )  # fmt: skip
    files["02-releve-de-compte.csv"] = csv_bytes(
        ["date", "label", "debit", "credit", "balance"],
        [[s.date, s.label, s.debit, s.credit, s.balance] for s in statement],
    )
    files["03-relances.csv"] = csv_bytes(
        [
            "date", "channel", "step", "status", "amount", "invoices", "sent_at",
            "approved_by", "approved_at", "tracking_number", "subject", "pdf", "pdf_sha256",
        ],
        [
            [
                r.date, r.channel, r.step, r.status, r.amount, r.invoices, r.sent_at,
                r.approved_by, r.approved_at, r.tracking_number, r.subject, r.pdf_name,
                r.pdf_sha256,
            ]
            for r in log
        ],
    )  # fmt: skip

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def recovery_file_name(customer: Customer, as_of: datetime.date) -> str:
    ref = slugify(customer.customer_ref) or str(customer.pk)
    return f"dossier-recouvrement-{ref}-{as_of.isoformat()}.zip"
