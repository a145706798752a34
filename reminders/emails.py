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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from email import policy as email_policy
from email.utils import parseaddr
from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers, make_msgid
from django.template import engines
from django.template.loader import render_to_string
from django.utils import translation

from core.money import ZERO, format_money
from core.payqr import qr_png
from customers.models import Contact
from customers.portal_links import portal_url, short_code, token_for
from receivables.models import CompanyProfile
from receivables.paying import customer_transfer
from receivables.references import (
    customer_creditor_reference,
    format_creditor_reference,
    payment_reference,
)
from reminders.default_texts import fallback_template
from reminders.models import ReminderTemplate

if TYPE_CHECKING:
    from django.template.backends.base import _EngineTemplate

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
    subject: _EngineTemplate
    text: _EngineTemplate
    html: _EngineTemplate


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
    qr_payload: str = ""  # the EPC QR code the HTML part shows inline (QR_CID)


# The Content-ID of the EPC QR code in the HTML part ("cid:" URL): an inline image in a
# multipart/related part, which common mail clients show (a data: URI many block).
QR_CID = "payqr@relance"


def payment_block(
    *,
    customer_id: int,
    company: CompanyProfile,
    amount: Decimal,
    language: str,
    tokens: Mapping[int, str | None] | None = None,
) -> dict:
    """What every reminder adds after the administrators' text, and what its templates
    may quote: the customer's creditor reference, the link to their page (none when
    finance staff revoked it) and the EPC QR code's payload (none without the company's
    IBAN). ``tokens``: the run's links, read at once (:func:`tokens_for`)."""
    token = tokens[customer_id] if tokens is not None else token_for(customer_id)
    transfer = customer_transfer(company, customer_id=customer_id, amount=amount)
    return {
        "creditor_reference": format_creditor_reference(customer_creditor_reference(customer_id)),
        "portal_url": portal_url(token) if token else "",
        "portal_code": short_code(token) if token else "",
        "qr_payload": transfer.payload() if transfer is not None else "",
        "qr_cid": QR_CID,
        "company": company,
        "language": language,
    }


def render_email(
    *,
    plan: CustomerPlan,
    recipients: Recipients,
    company: CompanyProfile,
    book: TemplateBook,
    tokens: Mapping[int, str | None] | None = None,
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
    paying = payment_block(
        customer_id=plan.customer.id,
        company=company,
        amount=plan.email_total,
        language=language,
        tokens=tokens,
    )
    context |= {k: paying[k] for k in ("creditor_reference", "portal_url", "portal_code")}
    compiled = book.get(step, language)
    with translation.override(language):
        subject = " ".join(compiled.subject.render(context).split())
        return RenderedEmail(
            subject=subject[:255],
            body_text=compiled.text.render(context).rstrip("\n")
            + "\n\n"
            + render_to_string("reminders/email_payment.txt", paying),
            body_html=_append_html(
                compiled.html.render(context),
                render_to_string("reminders/email_payment.html", paying),
            ),
            qr_payload=paying["qr_payload"],
        )


def _append_html(html: str, block: str) -> str:
    """``block`` at the end of the HTML part's body (before ``</body>`` when it has one)."""
    at = html.lower().rfind("</body>")
    return html + block if at < 0 else html[:at] + block + html[at:]


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
    qr_payload: str = ""


class ReminderMessage(EmailMultiAlternatives):
    """A reminder whose HTML part carries the EPC QR code as an inline image: the HTML
    and the PNG form a multipart/related part (Content-ID :data:`QR_CID`), inside the
    multipart/alternative beside the plain text, as mail clients expect."""

    qr_png: bytes = b""

    def message(self, *, policy=email_policy.default):
        msg = super().message(policy=policy)
        if self.qr_png:
            for part in msg.walk():
                if part.get_content_type() == "text/html":
                    part.add_related(
                        self.qr_png,
                        maintype="image",
                        subtype="png",
                        cid=f"<{QR_CID}>",
                        disposition="inline",
                        filename="payment-qr.png",
                    )
                    break
        return msg


def build_message(out: Outgoing) -> EmailMultiAlternatives:
    message = ReminderMessage(
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
        if out.qr_payload and f"cid:{QR_CID}" in out.body_html:
            message.qr_png = qr_png(out.qr_payload, scale=5)
    return message


class Delivery(StrEnum):
    """What became of one message handed to the mail backend."""

    SENT = "sent"  # the server accepted it (250 after DATA)
    RETRY = "retry"  # certainly not delivered, and worth retrying (4xx, a drop before DATA)
    REFUSED = "refused"  # certainly not delivered, and not worth retrying (5xx, no address)
    UNKNOWN = "unknown"  # lost after DATA: the server may have stored it; never re-sent


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    error: str = ""
    # Whether the message was handed over (``handover`` was called) before this outcome.
    handed: bool = False


_NOT_SMTP = object()


def _ignore_handover(reminder_id: int) -> None:
    return None


def _ignore_outcome(reminder_id: int, outcome: Outcome) -> None:
    return None


def send_batch(
    batch: list[Outgoing],
    *,
    handover: Callable[[int], None] = _ignore_handover,
    settled: Callable[[int, Outcome], None] = _ignore_outcome,
) -> dict[int, Outcome]:
    """Send a batch over one connection, one message at a time; returns reminder id ->
    :class:`Outcome`. ``handover(id)`` is called just before the message is handed over
    (before the SMTP DATA command: up to there nothing can have been delivered), and
    ``settled(id, outcome)`` as soon as its outcome is known, so the caller can record
    each message durably before the next one leaves. A dropped connection is reopened for
    the rest of the batch; a server that cannot be reached fails the whole batch (to be
    retried)."""
    outcome: dict[int, Outcome] = {}
    if not batch:
        return outcome

    def settle(reminder_id: int, result: Outcome) -> None:
        outcome[reminder_id] = result
        settled(reminder_id, result)

    connection = mailers.default
    try:
        connection.open()
    except Exception as exc:
        logger.warning("reminders: cannot open the mail connection: %s", exc)
        for out in batch:
            settle(out.reminder_id, Outcome(Delivery.RETRY, _describe(exc)))
        return outcome
    try:
        for out in batch:
            if not out.to:
                settle(
                    out.reminder_id,
                    Outcome(Delivery.REFUSED, "No billing contact with an email address."),
                )
                continue
            handed = _HandOver(out.reminder_id, handover)
            smtp = getattr(connection, "connection", _NOT_SMTP)
            if smtp is None:  # an SMTP backend whose connection was lost and not reopened
                try:
                    connection.open()
                except Exception as exc:
                    settle(out.reminder_id, Outcome(Delivery.RETRY, _describe(exc)))
                    continue
                smtp = getattr(connection, "connection", None)
            if isinstance(smtp, smtplib.SMTP):
                handed.watch(smtp)
            else:  # a backend with no SMTP dialogue (locmem, console): handed at once
                handed()
            try:
                sent = connection.send_messages([build_message(out)])
            except Exception as exc:
                if handed.error is not None:
                    # The hand-over could not be recorded (the database is gone): stop
                    # before DATA; the row, still "sending", is recovered as not sent.
                    raise
                settle(out.reminder_id, _classify(exc, handed=handed.done))
                if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                    _reopen(connection)
                continue
            finally:
                handed.unwatch()
            if sent:
                settle(out.reminder_id, Outcome(Delivery.SENT, handed=handed.done))
            else:
                settle(
                    out.reminder_id,
                    Outcome(
                        Delivery.UNKNOWN if handed.done else Delivery.RETRY,
                        "The mail backend did not send it.",
                        handed=handed.done,
                    ),
                )
    finally:
        with contextlib.suppress(Exception):  # closing a dead connection may fail too
            connection.close()
    return outcome


class _HandOver:
    """Calls ``handover`` once, just before the SMTP DATA command of one message: the
    connection's ``data`` method is wrapped for the time of that message (smtplib's
    ``sendmail`` calls ``self.data`` after MAIL FROM and RCPT TO were accepted)."""

    def __init__(self, reminder_id: int, handover: Callable[[int], None]) -> None:
        self.reminder_id = reminder_id
        self.handover = handover
        self.done = False
        self.error: Exception | None = None
        self.smtp: smtplib.SMTP | None = None

    def __call__(self) -> None:
        if not self.done:
            try:
                self.handover(self.reminder_id)
            except Exception as exc:
                self.error = exc
                raise
            self.done = True

    def watch(self, smtp: smtplib.SMTP) -> None:
        original = smtp.data

        def data(msg):
            self()
            return original(msg)

        smtp.data = data  # type: ignore[method-assign]
        self.smtp = smtp

    def unwatch(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(AttributeError):
                del self.smtp.data  # back to the class's method
            self.smtp = None


def _classify(exc: Exception, *, handed: bool) -> Outcome:
    """A server's answer is certain: 4xx is retried, 5xx is final. A connection lost or
    timed out after the message was handed over may have been stored by the server:
    unknown, never re-sent. Before that, nothing left: retried."""
    error = _describe(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return Outcome(Delivery.REFUSED if permanent else Delivery.RETRY, error, handed)
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code >= 500:
            return Outcome(Delivery.REFUSED, error, handed)
        if exc.smtp_code >= 400:
            return Outcome(Delivery.RETRY, error, handed)
    if isinstance(exc, smtplib.SMTPException | OSError):
        return Outcome(Delivery.UNKNOWN if handed else Delivery.RETRY, error, handed)
    # The message could not even be built (an address the backend rejects): final.
    return Outcome(Delivery.UNKNOWN if handed else Delivery.REFUSED, error, handed)


def _reopen(connection) -> None:
    with contextlib.suppress(Exception):
        connection.close()
    try:
        connection.open()
    except Exception as exc:
        logger.warning("reminders: cannot reopen the mail connection: %s", exc)


def _describe(exc: Exception) -> str:
    """The server's answer first (what the worklist shows), else the error."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _answer(exc.smtp_code, exc.smtp_error)[:2000]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [f"{_answer(*reply)} <{rcpt}>" for rcpt, reply in exc.recipients.items()]
        return "; ".join(answers)[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def _answer(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"


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
