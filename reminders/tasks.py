"""django-q2 tasks: thin adapters from a schedule to a service."""

from __future__ import annotations

import datetime
import logging

from django.utils import timezone

from core.audit import audited_task
from reminders import services

logger = logging.getLogger("reminders.services")


@audited_task
def run_daily_reminders(date: str | None = None, scheduled_for: str | None = None) -> dict:
    """Run the reminders for ``date`` (ISO, a person's explicit choice), else for today.

    django-q2 passes ``scheduled_for``, the moment the schedule intended; it is only
    logged. A task picked up late (the worker was down from Friday 06:00 to Monday 10:00)
    runs Monday's run: what it sends leaves on Monday, so it is recorded on Monday and the
    next step is spaced from Monday. Friday is not replayed (``catch_up`` is off), and a
    second task for the same day plans and sends nothing twice."""
    today = timezone.localdate()
    if date:
        day = datetime.date.fromisoformat(date)
    else:
        day = today
        if scheduled_for:
            intended = timezone.localdate(datetime.datetime.fromisoformat(scheduled_for))
            if intended != today:
                logger.warning(
                    "reminders: the run scheduled for %s starts on %s: it runs %s.",
                    intended,
                    today,
                    today,
                )
    result = services.reminders_run(run_date=day)
    return {
        "date": day.isoformat(),
        "planned": result.planned,
        "sent": result.sent,
        "failed": result.failed,
        "unknown": result.unknown,
        "recovered": result.recovered,
        "skipped": [
            {"customer": s.customer_id, "name": s.customer_name, "reason": s.reason}
            for s in result.skipped
        ],
    }


@audited_task
def recover_stranded_sends() -> dict:
    """The watchdog (every few minutes): a batch stranded by a crashed sender is settled
    and what certainly did not leave is sent again, without waiting for tomorrow."""
    result = services.reminders_watchdog()
    return {
        "recovered": result.recovered,
        "unknown": result.unknown,
        "sent": result.sent,
        "failed": result.failed,
    }
