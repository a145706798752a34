"""The daily run, in the order it happens: plan (run/plan.py, on the snapshot of
run/state.py) → claim (run/claim.py) → send (run/send.py) → record (run/record.py).

It is exactly-once by construction:

1. the run's row (``ReminderRun``, one per date) is locked while planning, so two workers
   running the same date plan once; a rerun plans nothing already planned because an
   installment takes each step once (``ReminderItem``'s unique key, enforced by the
   database);
2. the intent is committed before anything leaves: an email is claimed with
   ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL), marked "sending" with its attempt
   count, claim time and a fixed Message-ID, and only then sent;
3. each message is recorded as it goes: "handed over" just before the SMTP DATA command,
   then "sent" as soon as the server accepted it, or "failed" with the server's answer
   (4xx and drops before DATA are retried with exponential backoff, 5xx are not), or
   "unknown" when the connection was lost after DATA (never re-sent automatically);
4. a crashed sender is noticed by the next run or the watchdog (its advisory lock is
   free): what it never handed over is sent again, what it handed over without an
   answer goes to the worklist as "unknown" (run/claim.py, ``recover_stranded``);
5. one customer whose data cannot be planned (a date out of range, a broken row) is
   skipped, reported in the result and on the worklist, and never stops the others.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from reminders.models import Reminder, ReminderRun
from reminders.run import plan as planner
from reminders.run.claim import (
    cancel_stale_pending,
    persist_plans,
    recover_stranded,
    refresh_notices,
    report_skipped,
    retry_due,
    settle_promises,
)
from reminders.run.send import deliver
from reminders.run.state import load_state

logger = logging.getLogger("reminders.services")


@dataclass
class RunResult:
    run_date: datetime.date
    business_day: bool
    planned: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    recovered: int = 0
    plans: list[planner.CustomerPlan] = field(default_factory=list)
    skipped: list[planner.Skipped] = field(default_factory=list)
    retries: list[int] = field(default_factory=list)


def reminders_run(*, run_date: datetime.date, now: datetime.datetime | None = None) -> RunResult:
    """The daily escalation as of ``run_date``: safe to rerun, and to run twice at once."""
    now = now or timezone.now()
    result = RunResult(run_date=run_date, business_day=planner.is_business_day(run_date))
    ReminderRun.objects.get_or_create(run_date=run_date)
    result.recovered, result.unknown = recover_stranded(now=now)
    if not result.business_day:
        return result
    with transaction.atomic():
        run = ReminderRun.objects.select_for_update().get(run_date=run_date)
        settle_promises(run_date=run_date)
        result.cancelled = cancel_stale_pending(run_date=run_date, now=now)
        scenarios = planner.load_scenarios()
        state = load_state(last_day=run_date, scenarios=scenarios)
        plans = planner.plan_day(state, run_date, scenarios, skipped=result.skipped)
        persisted = persist_plans(
            plans=plans, run_date=run_date, scenarios=scenarios, skipped=result.skipped
        )
        result.planned = len(persisted)
        result.plans = plans
        report_skipped(result.skipped, run_date=run_date)
        refresh_notices(run_date=run_date)
        ReminderRun.objects.filter(pk=run.pk).update(
            started_at=run.started_at or now, planned=F("planned") + result.planned
        )
    delivered = deliver(run_date=run_date, now=now)
    result.sent, result.failed = delivered.sent, delivered.failed
    result.unknown += delivered.unknown
    ReminderRun.objects.filter(run_date=run_date).update(
        finished_at=timezone.now(), sent=F("sent") + result.sent, failed=F("failed") + result.failed
    )
    logger.info(
        "reminders %s: planned %s, sent %s, failed %s, unknown %s, recovered %s, skipped %s",
        run_date,
        result.planned,
        result.sent,
        result.failed,
        result.unknown,
        result.recovered,
        len(result.skipped),
    )
    return result


# Emails planned this long ago and still not claimed were left by a run that died
# between planning and sending: the watchdog sends them.
PLANNED_GRACE = datetime.timedelta(minutes=10)


def reminders_watchdog(*, now: datetime.datetime | None = None) -> RunResult:
    """Every few minutes (a django-q2 schedule): settle a batch stranded by a crashed
    sender, and on a business day send at once what certainly did not leave, and the
    emails a run planned and died before sending (after the same check as any retry).
    Nothing is planned here; a sender still alive is left alone, and one working at the
    same time claims other rows (``SKIP LOCKED``)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    result = RunResult(run_date=today, business_day=planner.is_business_day(today))
    result.recovered, result.unknown = recover_stranded(now=now)
    if not result.business_day:
        return result
    left_planned = (
        Reminder.objects.emails()
        .filter(status=Reminder.Status.PLANNED, run_date__lte=today)
        .filter(created_at__lt=now - PLANNED_GRACE)
        .exists()
    )
    if result.recovered or left_planned:
        result.cancelled = cancel_stale_pending(run_date=today, now=now)
        delivered = deliver(run_date=today, now=now, ids=None)
        result.sent, result.failed = delivered.sent, delivered.failed
        result.unknown += delivered.unknown
    return result


def reminders_dry_run(
    *, run_date: datetime.date, now: datetime.datetime | None = None
) -> RunResult:
    """What ``run_date``'s run would do, writing nothing."""
    now = now or timezone.now()
    result = RunResult(run_date=run_date, business_day=planner.is_business_day(run_date))
    if not result.business_day:
        return result
    scenarios = planner.load_scenarios()
    state = load_state(last_day=run_date, scenarios=scenarios)
    result.plans = planner.plan_day(state, run_date, scenarios, skipped=result.skipped)
    result.planned = len(result.plans)
    result.retries = list(retry_due(run_date, now).values_list("pk", flat=True))
    return result
