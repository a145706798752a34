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
3. the outcome is recorded after: "sent" with the time, or "failed" with the error and
   the time of the next attempt (exponential backoff); a row left "sending" past a
   timeout (a crash between send and record) becomes "unknown" for a person to check,
   never re-sent automatically.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from reminders.models import ReminderRun
from reminders.run import plan as planner
from reminders.run.claim import (
    cancel_stale_pending,
    mark_stale_sending,
    persist_plans,
    refresh_notices,
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
    plans: list[planner.CustomerPlan] = field(default_factory=list)
    retries: list[int] = field(default_factory=list)


def reminders_run(*, run_date: datetime.date, now: datetime.datetime | None = None) -> RunResult:
    """The daily escalation as of ``run_date``: safe to rerun, and to run twice at once."""
    now = now or timezone.now()
    result = RunResult(run_date=run_date, business_day=planner.is_business_day(run_date))
    ReminderRun.objects.get_or_create(run_date=run_date)
    result.unknown = mark_stale_sending(now=now)
    if not result.business_day:
        return result
    with transaction.atomic():
        run = ReminderRun.objects.select_for_update().get(run_date=run_date)
        settle_promises(run_date=run_date)
        result.cancelled = cancel_stale_pending(run_date=run_date, now=now)
        scenarios = planner.load_scenarios()
        state = load_state(last_day=run_date, scenarios=scenarios)
        plans = planner.plan_day(state, run_date, scenarios)
        result.planned = len(persist_plans(plans=plans, run_date=run_date, scenarios=scenarios))
        result.plans = plans
        refresh_notices(run_date=run_date)
        ReminderRun.objects.filter(pk=run.pk).update(
            started_at=run.started_at or now, planned=F("planned") + result.planned
        )
    result.sent, result.failed = deliver(run_date=run_date, now=now)
    ReminderRun.objects.filter(run_date=run_date).update(
        finished_at=timezone.now(), sent=F("sent") + result.sent, failed=F("failed") + result.failed
    )
    logger.info(
        "reminders %s: planned %s, sent %s, failed %s, unknown %s",
        run_date,
        result.planned,
        result.sent,
        result.failed,
        result.unknown,
    )
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
    result.plans = planner.plan_day(state, run_date, scenarios)
    result.planned = len(result.plans)
    result.retries = list(retry_due(run_date, now).values_list("pk", flat=True))
    return result
