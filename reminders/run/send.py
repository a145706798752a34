"""Send: the claimed emails, batch by batch over one SMTP connection each. Each message
is recorded as it goes (run/record.py): handed over just before the SMTP DATA command,
then its outcome as soon as the server answers. While it sends, the sender holds a
PostgreSQL advisory lock on its claim token, so a crashed sender's rows are known to be
stranded the moment its database session ends (run/claim.py, ``recover_stranded``)."""

from __future__ import annotations

import contextlib
import datetime
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from django.db import connection
from django.utils import timezone

from receivables.models import CompanyProfile
from reminders import emails as mail
from reminders.models import Reminder, ScenarioStep
from reminders.run.claim import SENDER_LOCK_CLASS, claim_batch
from reminders.run.record import record_handover, record_outcome


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0
    unknown: int = 0


@contextlib.contextmanager
def sender_lock() -> Iterator[int]:
    """A fresh claim token, held as a session advisory lock on PostgreSQL until the
    sender is done (or its process dies: the database then frees it)."""
    token = secrets.randbelow(2**31 - 2) + 1
    if connection.vendor != "postgresql":
        yield token
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [SENDER_LOCK_CLASS, token])
    try:
        yield token
    finally:
        with contextlib.suppress(Exception), connection.cursor() as cursor:  # a lost session
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SENDER_LOCK_CLASS, token])


def deliver(
    *, run_date: datetime.date, now: datetime.datetime | None = None, ids: list[int] | None = None
) -> Delivered:
    """Send the claimed emails batch by batch over one connection each, recording each
    message as it goes."""
    now = now or timezone.now()
    delivered = Delivered()
    reply_to = [e for e in [CompanyProfile.get().email] if e]
    with sender_lock() as token:
        while batch := claim_batch(run_date=run_date, now=now, ids=ids, token=token):
            _send(batch, token=token, reply_to=reply_to, delivered=delivered)
    return delivered


def _send(batch: list[Reminder], *, token: int, reply_to: list[str], delivered: Delivered) -> None:
    by_id = {r.pk: r for r in batch}
    step_names = dict(
        ScenarioStep.objects.filter(pk__in={r.step_id for r in batch}).values_list("pk", "name")
    )

    def settled(reminder_id: int, outcome: mail.Outcome) -> None:
        reminder = by_id[reminder_id]
        ended = record_outcome(
            reminder, outcome, token=token, step_name=step_names.get(reminder.step_id, "")
        )
        if ended == mail.Delivery.SENT:
            delivered.sent += 1
        elif ended == mail.Delivery.UNKNOWN:
            delivered.unknown += 1
        else:
            delivered.failed += 1

    outgoing = [
        mail.Outgoing(
            reminder_id=r.pk,
            subject=r.subject,
            body_text=r.body_text,
            body_html=r.body_html,
            qr_payload=r.qr_payload,
            to=list(r.recipients.get("to", [])),
            cc=list(r.recipients.get("cc", [])),
            message_id=r.message_id,
            reply_to=reply_to,
        )
        for r in batch
    ]
    mail.send_batch(outgoing, handover=partial(record_handover, token=token), settled=settled)
