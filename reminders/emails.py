"""Rendering reminder emails from the administrators' templates, and sending them.

Templates are strings in the database (``ReminderTemplate``), compiled once per run with
Django's template engine: autoescaping on for the HTML part, off for the subject and the
plain-text part (they are not HTML, and an escaped "&amp;" in a subject looks broken).

Sending uses the Django 6.1 mailers API (``mailers.default``) and one connection for a
whole batch. Each message is sent on its own so that a refusal of one message (a 550 on
one address) or a dropped connection is attributed to exactly the reminders it hit.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers, make_msgid
from django.template import engines
from django.utils import translation

from core.money import ZERO, format_money
from customers.models import Contact
from receivables.models import CompanyProfile
from receivables.references import payment_reference
from reminders.default_texts import fallback_template
from reminders.models import ReminderTemplate

if TYPE_CHECKING:
    from reminders.run.plan import CustomerPlan, Step
    from reminders.run.state import InstallmentState

logger = logging.getLogger(__name__)


def message_id_domain() -> str:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return address.rpartition("@")[2] or "relance.localhost"


def new_message_id() -> str:
    """A Message-ID fixed before the send and stored with the intent, so a send whose
    outcome is unknown can be looked up in the mail server's logs."""
    return make_msgid(idstring="relance", domain=message_id_domain())


@dataclass
class CompiledTemplate:
    subject: object
    text: object
    html: object


class TemplateBook:
    """The compiled templates of a run, by (step, language); one query, compiled lazily."""

    def __init__(self) -> None:
        self._rows = {(t.step_id, t.language): t for t in ReminderTemplate.objects.all()}
        self._compiled: dict[tuple[int, str], CompiledTemplate] = {}

    def get(self, step: Step, language: str) -> CompiledTemplate:
        key = (step.id, language)
        if key not in self._compiled:
            row = (
                self._rows.get(key)
                or self._rows.get((step.id, "fr"))
                or self._rows.get((step.id, "en"))
            )
            subject, text, html = (
                (row.subject, row.body_text, row.body_html)
                if row is not None
                else fallback_template(step.position, language)
            )
            engine = engines["django"]
            self._compiled[key] = CompiledTemplate(
                subject=engine.from_string(
                    "{% autoescape off %}" + subject + "{% endautoescape %}"
                ),
                text=engine.from_string("{% autoescape off %}" + text + "{% endautoescape %}"),
                html=engine.from_string(html),
            )
        return self._compiled[key]


def _installment_context(inst: InstallmentState, day: datetime.date, language: str) -> dict:
    return {
        "invoice_number": inst.invoice_number,
        "part": inst.sequence,
        "issue_date": inst.issue_date,
        "due_date": inst.due_date,
        "amount_left": format_money(inst.amount_left, language, inst.currency),
        "amount_left_value": inst.amount_left,
        "days_late": inst.days_late(day),
    }


@dataclass
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str


def render_email(
    *,
    plan: CustomerPlan,
    recipients: Recipients,
    company: CompanyProfile,
    book: TemplateBook,
) -> RenderedEmail:
    """Render a customer's email for its plan, in the customer's language, in the tone
    of its highest step."""
    step = plan.email_step
    assert step is not None
    language = plan.customer.language if plan.customer.language in ("fr", "en") else "fr"
    currency = plan.emails[0].installment.currency
    others_total = sum((i.amount_left for i in plan.others), ZERO)
    context = {
        "customer": plan.customer,
        "contact": recipients.greeting_contact,
        "company": company,
        "step": step,
        "run_date": plan.day,
        "installments": [
            _installment_context(i.installment, plan.day, language) for i in plan.emails
        ],
        "total": format_money(plan.email_total, language, currency),
        "other_installments": [_installment_context(i, plan.day, language) for i in plan.others],
        "outstanding_total": format_money(plan.email_total + others_total, language, currency),
        "payment_reference": payment_reference(
            customer_ref=plan.customer.customer_ref,
            invoice_numbers=[i.installment.invoice_number for i in plan.emails],
        ),
    }
    compiled = book.get(step, language)
    with translation.override(language):
        subject = " ".join(compiled.subject.render(context).split())
        return RenderedEmail(
            subject=subject[:255],
            body_text=compiled.text.render(context),
            body_html=compiled.html.render(context),
        )


@dataclass
class Outgoing:
    """A reminder ready to leave: what was stored with the intent."""

    reminder_id: int
    subject: str
    body_text: str
    body_html: str
    to: list[str]
    cc: list[str]
    message_id: str
    reply_to: list[str]


def build_message(out: Outgoing) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=out.subject,
        body=out.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=out.to,
        cc=out.cc,
        reply_to=out.reply_to or None,
        headers={"Message-ID": out.message_id, "X-Relance-Reminder": str(out.reminder_id)},
    )
    if out.body_html:
        message.attach_alternative(out.body_html, "text/html")
    return message


def send_batch(batch: list[Outgoing]) -> dict[int, str | None]:
    """Send a batch over one connection; returns reminder id -> None when accepted by the
    server, else the error text. A dropped connection is reopened once for the rest of
    the batch; a server that cannot be reached fails the whole batch."""
    outcome: dict[int, str | None] = {}
    if not batch:
        return outcome
    connection = mailers.default
    try:
        connection.open()
    except Exception as exc:
        logger.warning("reminders: cannot open the mail connection: %s", exc)
        return {out.reminder_id: _describe(exc) for out in batch}
    try:
        for out in batch:
            if not out.to:
                outcome[out.reminder_id] = "No billing contact with an email address."
                continue
            try:
                sent = connection.send_messages([build_message(out)])
            except Exception as exc:
                outcome[out.reminder_id] = _describe(exc)
                if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                    _reopen(connection)
                continue
            outcome[out.reminder_id] = None if sent else "The mail backend did not send it."
    finally:
        with contextlib.suppress(Exception):  # closing a dead connection may fail too
            connection.close()
    return outcome


def _reopen(connection) -> None:
    with contextlib.suppress(Exception):
        connection.close()
    try:
        connection.open()
    except Exception as exc:
        logger.warning("reminders: cannot reopen the mail connection: %s", exc)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


# --- recipients -------------------------------------------------------------------------


@dataclass
class Recipients:
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    greeting_contact: Contact | None = None

    def as_json(self) -> dict[str, list[str]]:
        return {"to": self.to, "cc": self.cc}


def load_recipients(customer_ids: Iterable[int]) -> dict[int, Recipients]:
    """The billing contacts who receive reminders, one query for all customers; with no
    "to" contact, the "cc" ones are promoted so the email still has an addressee."""
    result: dict[int, Recipients] = defaultdict(Recipients)
    ids = list(customer_ids)
    if not ids:
        return result
    contacts = (
        Contact.objects.reminder_recipients()
        .filter(customer_id__in=ids)
        .order_by("customer_id", "reminder_role", "pk")
    )
    for contact in contacts:
        rec = result[contact.customer_id]
        if contact.reminder_role == Contact.ReminderRole.TO:
            if contact.email not in rec.to:
                rec.to.append(contact.email)
            if rec.greeting_contact is None:
                rec.greeting_contact = contact
        elif contact.email not in rec.cc:
            rec.cc.append(contact.email)
    for rec in result.values():
        if not rec.to and rec.cc:
            rec.to, rec.cc = rec.cc, []
        rec.cc = [e for e in rec.cc if e not in rec.to]
    return result
