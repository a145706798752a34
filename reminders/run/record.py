"""Record: what the mail server said. Sent emails get their time and a timeline entry;
failed ones their error and the time of the next attempt (exponential backoff). Nothing
is ever recorded as sent that the server did not accept."""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Activity
from reminders.models import (
    Reminder,
    ScenarioStep,
)
from reminders.run.claim import BULK_BATCH, MAX_ATTEMPTS

logger = logging.getLogger("reminders.services")

Status = Reminder.Status

BACKOFF_BASE = datetime.timedelta(minutes=30)
BACKOFF_MAX = datetime.timedelta(hours=12)


def backoff(attempts: int) -> datetime.timedelta:
    """30 min, 1 h, 2 h, 4 h... capped at 12 h: always shorter than a day, so the next
    daily run retries."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def record_outcomes(batch: list[Reminder], outcome: dict[int, str | None]) -> tuple[int, int]:
    """Record what the server said: one update for the sent, one for the failed, and one
    timeline entry per sent email."""
    sent_at = timezone.now()
    ok = [r for r in batch if outcome.get(r.pk, "not attempted") is None]
    ko = [r for r in batch if outcome.get(r.pk, "not attempted") is not None]
    with transaction.atomic():
        if ok:
            Reminder.objects.filter(pk__in=[r.pk for r in ok], status=Status.SENDING).update(
                status=Status.SENT, sent_at=sent_at, last_error="", next_attempt_at=None
            )
            scenarios_names = dict(
                ScenarioStep.objects.filter(pk__in={r.step_id for r in ok}).values_list(
                    "pk", "name"
                )
            )
            Activity.objects.bulk_create(
                [_sent_activity(r, scenarios_names.get(r.step_id, ""), sent_at) for r in ok],
                batch_size=BULK_BATCH,
            )
        for r in ko:
            r.attempts += 1
            r.status = Status.FAILED
            r.last_error = outcome.get(r.pk) or ""
            r.next_attempt_at = sent_at + backoff(r.attempts) if r.attempts < MAX_ATTEMPTS else None
        if ko:
            Reminder.objects.bulk_update(
                ko, ["status", "last_error", "next_attempt_at"], batch_size=BULK_BATCH
            )
    for r in ko:
        logger.warning("reminders: reminder %s failed: %s", r.pk, r.last_error)
    return len(ok), len(ko)


def _sent_activity(reminder: Reminder, step_name: str, sent_at: datetime.datetime) -> Activity:
    to = ", ".join(reminder.recipients.get("to", []))
    return Activity(
        customer_id=reminder.customer_id,
        kind=Activity.Kind.EMAIL,
        author_id=reminder.actor_id,
        occurred_at=sent_at,
        summary=(_("%(step)s sent by email to %(to)s") % {"step": step_name, "to": to})[:255],
        body=f"{reminder.subject}\nMessage-ID: {reminder.message_id}",
        outcome="sent",
    )
