"""django-q2 tasks: thin adapters from a schedule or a queued request to a service."""

from __future__ import annotations

import datetime

from django.utils import timezone

from core.audit import audited_task
from receivables import figures, snapshots


@audited_task
def take_monthly_snapshot(today: str | None = None, scheduled_for: str | None = None) -> dict:
    """The monthly schedule: the snapshot as of the month end before ``today`` (ISO),
    else before the local day the schedule intended (django-q2 passes
    ``scheduled_for``), else before today. Using the intended day means a run picked up
    late by the worker still snapshots the right month."""
    if today:
        day = datetime.date.fromisoformat(today)
    elif scheduled_for:
        day = timezone.localdate(datetime.datetime.fromisoformat(scheduled_for))
    else:
        day = timezone.localdate()
    snapshot = snapshots.snapshot_take_month_end(today=day)
    return _summary(snapshot)


@audited_task
def build_snapshot(snapshot_id: int) -> dict:
    """A snapshot requested from the reports page, queued after its row was committed."""
    return _summary(snapshots.snapshot_build(snapshot_id=snapshot_id))


def _summary(snapshot) -> dict:
    return {
        "snapshot": snapshot.pk,
        "as_of": snapshot.as_of.isoformat(),
        "status": snapshot.status,
        "customers": snapshot.customer_count,
        "total": str(snapshot.total),
    }


@audited_task
def import_run_work(run_id: int, step: str) -> dict:
    """A large file from the import page: its preview (``step`` "preview") or its
    commit ("commit"), queued once the run was saved."""
    from receivables.imports import runs

    if step == "preview":
        run = runs.import_run_preview(run_id=run_id)
    elif step == "commit":
        run = runs.import_run_commit(run_id=run_id)
    else:
        raise ValueError(f"unknown import step {step!r}")
    return {"run": run.pk, "status": run.status}


@audited_task
def figures_roll_over() -> str:
    """The daily schedule, just after midnight: every customer's stored figures moved to
    the new day (receivables/figures.py), so that no page waits for it."""
    figures.ensure_current()
    return timezone.localdate().isoformat()
