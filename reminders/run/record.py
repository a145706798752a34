"""Record: what the mail server said, one message at a time, as soon as it said it (a
crash later in the batch loses nothing already known). Sent emails get their time and a
timeline entry; emails the server did not take get their error and, when the answer was
temporary (4xx, a drop before the message was handed over), the time of the next attempt
(exponential backoff); a permanent refusal (5xx) is not retried and waits on the
worklist with the server's answer; a connection lost after the message was handed over
is "unknown", never re-sent. Nothing is ever recorded as sent that the server did not
accept."""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core import webhooks
from customers.models import Activity
from reminders.emails import Delivery, Outcome
from reminders.models import Reminder
from reminders.run.claim import MAX_ATTEMPTS

logger = logging.getLogger("reminders.services")

Status = Reminder.Status

BACKOFF_BASE = datetime.timedelta(minutes=30)
BACKOFF_MAX = datetime.timedelta(hours=12)


def backoff(attempts: int) -> datetime.timedelta:
    """30 min, 1 h, 2 h, 4 h... capped at 12 h: always shorter than a day, so the next
    daily run retries."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


class ClaimLost(Exception):
    """The sender no longer holds the email it is about to hand over: a recovery judged
    it gone (its database session ended, e.g. a database restart, and its lock with it)
    and took its claims back, to be sent by someone else. It must stop before DATA."""


def record_handover(reminder_id: int, *, token: int) -> None:
    """The message is about to be handed to the mail server (before the SMTP DATA
    command): from now on, a crash leaves its fate unknown. The attempt counts. One
    update, committed. Raises :class:`ClaimLost` (nothing is sent) when the row is no
    longer this sender's claim."""
    if not Reminder.objects.filter(pk=reminder_id, status=Status.SENDING, claim_token=token).update(
        handed_at=timezone.now(), attempts=F("attempts") + 1
    ):
        raise ClaimLost(
            f"reminder {reminder_id}: its claim {token} was taken back (the sender's "
            "database session ended); stopping before the message is handed over"
        )


def reminder_event(reminder: Reminder, sent_at: datetime.datetime) -> dict:
    """What a webhook is told of a reminder sent (an email, or a letter posted)."""
    return {
        "reminder": reminder.pk,
        "customer": reminder.customer_id,
        "channel": Reminder.Channel.EMAIL,  # the run records emails (letters: notice.*)
        "step": reminder.step_id,
        "sent_at": sent_at,
        "message_id": reminder.message_id,
    }


def record_outcome(reminder: Reminder, outcome: Outcome, *, token: int, step_name: str) -> Delivery:
    """Record what the server said about one message (``reminder.attempts`` is the count
    before this attempt, which counts: at its hand-over, else here). Returns how it
    ended."""
    now = timezone.now()
    mine = Reminder.objects.filter(pk=reminder.pk, claim_token=token)
    attempts = reminder.attempts + 1
    counted = {} if outcome.handed else {"attempts": attempts}
    if outcome.delivery == Delivery.SENT:
        with transaction.atomic():
            # Also over "unknown": a watchdog that judged its sender gone was wrong.
            if mine.filter(status__in=[Status.SENDING, Status.UNKNOWN]).update(
                status=Status.SENT, sent_at=now, last_error="", next_attempt_at=None, **counted
            ):
                _sent_activity(reminder, step_name, now).save()
                webhooks.emit("reminder.sent", reminder_event(reminder, now))
        return Delivery.SENT
    if outcome.delivery == Delivery.UNKNOWN:
        error = _(
            "The connection was lost after the message was handed to the mail server: "
            "check with the Message-ID whether it left. (%(answer)s)"
        ) % {"answer": outcome.error}
        mine.filter(status=Status.SENDING).update(
            status=Status.UNKNOWN, last_error=error, next_attempt_at=None, **counted
        )
        logger.warning("reminders: reminder %s unknown: %s", reminder.pk, outcome.error)
        return Delivery.UNKNOWN
    if outcome.delivery == Delivery.REFUSED:
        error = _("Refused by the mail server, not retried: %(answer)s") % {"answer": outcome.error}
        next_attempt = None
    else:
        error = outcome.error
        next_attempt = now + backoff(attempts) if attempts < MAX_ATTEMPTS else None
    mine.filter(status=Status.SENDING).update(
        status=Status.FAILED, last_error=error, next_attempt_at=next_attempt, **counted
    )
    logger.warning("reminders: reminder %s failed: %s", reminder.pk, outcome.error)
    return outcome.delivery


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
