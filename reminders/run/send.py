"""Send: the claimed emails, batch by batch over one SMTP connection each; each batch's
outcome is recorded (run/record.py) before the next is claimed."""

from __future__ import annotations

import datetime

from django.utils import timezone

from receivables.models import CompanyProfile
from reminders import emails as mail
from reminders.run.claim import claim_batch
from reminders.run.record import record_outcomes


def deliver(
    *, run_date: datetime.date, now: datetime.datetime | None = None, ids: list[int] | None = None
) -> tuple[int, int]:
    """Send the claimed emails batch by batch over one connection each, and record each
    outcome. Returns (sent, failed)."""
    now = now or timezone.now()
    sent_total = failed_total = 0
    reply_to = [e for e in [CompanyProfile.get().email] if e]
    while True:
        batch = claim_batch(run_date=run_date, now=now, ids=ids)
        if not batch:
            break
        outgoing = [
            mail.Outgoing(
                reminder_id=r.pk,
                subject=r.subject,
                body_text=r.body_text,
                body_html=r.body_html,
                to=list(r.recipients.get("to", [])),
                cc=list(r.recipients.get("cc", [])),
                message_id=r.message_id,
                reply_to=reply_to,
            )
            for r in batch
        ]
        outcome = mail.send_batch(outgoing)
        sent, failed = record_outcomes(batch, outcome)
        sent_total += sent
        failed_total += failed
    return sent_total, failed_total
