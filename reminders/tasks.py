"""django-q2 tasks: thin adapters from a schedule to a service."""

from __future__ import annotations

import datetime

from django.utils import timezone

from reminders import services


def run_daily_reminders(date: str | None = None, scheduled_for: str | None = None) -> dict:
    """Run the reminders for ``date`` (ISO), else for the local day the schedule
    intended (django-q2 passes ``scheduled_for``), else today. Using the intended day
    means a run picked up late by the worker still runs the right date."""
    if date:
        day = datetime.date.fromisoformat(date)
    elif scheduled_for:
        day = timezone.localdate(datetime.datetime.fromisoformat(scheduled_for))
    else:
        day = timezone.localdate()
    result = services.reminders_run(run_date=day)
    return {
        "date": day.isoformat(),
        "planned": result.planned,
        "sent": result.sent,
        "failed": result.failed,
        "unknown": result.unknown,
    }
