"""Monthly aged-balance snapshots: requesting, building and reading them.

A snapshot freezes the aged balance of the *whole ledger* (not one user's scope) at a
month end: the figures the accounts are closed with, which must read the same next year
even after a payment is recorded late with an earlier date. Hence:

- one row per customer with a non-zero balance, computed by the same selector as the
  aged-balance page (:func:`receivables.selectors.aged_balance`), stored with the totals
  in one transaction (``bulk_create``), so a snapshot is complete or absent;
- once ``done`` it is immutable: building it again does nothing and
  :func:`snapshot_store` refuses to write over it;
- taking one is idempotent, keyed by its unique ``as_of``: the monthly schedule and a
  manager's request for the same month end share one snapshot, a second request shows
  the existing one, and a worker retrying the task finds it done.

The heavy work runs in a django-q2 task (receivables/tasks.py), queued after commit.
"""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.money import ZERO
from receivables.models import AgedBalanceSnapshot, AgedBalanceSnapshotRow, CompanyProfile
from receivables.selectors import BUCKETS, AgedBalance, aged_balance

logger = logging.getLogger(__name__)

AMOUNTS: tuple[str, ...] = (*BUCKETS, "total")
BUILD_TASK = "receivables.tasks.build_snapshot"
ERROR_MAX_CHARS = 2000

# Progress shown while a snapshot is built: the aged balance is one query, then one
# transaction stores it, so there are two visible steps before the end.
PROGRESS_COMPUTING = 10
PROGRESS_STORING = 60
PROGRESS_DONE = 100


class SnapshotImmutableError(ValidationError):
    """Raised on any attempt to write over a snapshot that is done."""


def previous_month_end(day: datetime.date) -> datetime.date:
    """The last day of the month before ``day``'s."""
    return day.replace(day=1) - datetime.timedelta(days=1)


def is_month_end(day: datetime.date) -> bool:
    return (day + datetime.timedelta(days=1)).day == 1


def validate_snapshot_date(as_of: datetime.date, *, today: datetime.date) -> None:
    """A snapshot is of a month that is over: the last day of a month, before today (on
    the last day itself, payments of the day may still come in)."""
    shown = date_format(as_of, "SHORT_DATE_FORMAT")
    if as_of > today:
        raise ValidationError(
            _("%(date)s is in the future: choose a past month end.") % {"date": shown},
            code="future",
        )
    if not is_month_end(as_of):
        raise ValidationError(
            _("%(date)s is not the last day of a month: choose a month end, such as %(example)s.")
            % {
                "date": shown,
                "example": date_format(previous_month_end(today), "SHORT_DATE_FORMAT"),
            },
            code="not_month_end",
        )
    if as_of == today:
        raise ValidationError(
            _("The month is not over yet: its snapshot can be taken from tomorrow."),
            code="month_not_over",
        )


def _queue_build(snapshot_id: int) -> None:
    from django_q.tasks import async_task

    async_task(BUILD_TASK, snapshot_id, group="aged-balance-snapshots")


@transaction.atomic
def snapshot_request(
    *, as_of: datetime.date, user, today: datetime.date | None = None
) -> tuple[AgedBalanceSnapshot, bool]:
    """Ask for the snapshot as of ``as_of`` (a past month end, else ValidationError).

    Returns ``(snapshot, queued)``. A new snapshot is created *pending* and its build
    queued once the transaction commits; a failed one is queued again; an existing
    pending, running or done one is returned as it is, never recomputed."""
    validate_snapshot_date(as_of, today=today or timezone.localdate())
    snapshot, created = AgedBalanceSnapshot.objects.get_or_create(
        as_of=as_of, defaults={"created_by": user}
    )
    if not created:
        snapshot = AgedBalanceSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.status != AgedBalanceSnapshot.Status.FAILED:
            return snapshot, False
        snapshot.status = AgedBalanceSnapshot.Status.PENDING
        snapshot.progress = 0
        snapshot.error = ""
        snapshot.created_by = user
        snapshot.save(update_fields=["status", "progress", "error", "created_by"])
    snapshot_id = snapshot.pk
    transaction.on_commit(lambda: _queue_build(snapshot_id))
    return snapshot, True


def snapshot_store(*, snapshot: AgedBalanceSnapshot, ab: AgedBalance) -> AgedBalanceSnapshot:
    """Write ``ab``'s rows and totals into ``snapshot`` and mark it done, in one
    transaction. Refuses (:class:`SnapshotImmutableError`) a snapshot already done, or
    an aged balance of another date."""
    if ab.as_of != snapshot.as_of:
        raise ValidationError(_("This aged balance is not of the snapshot's date."))
    with transaction.atomic():
        snapshot = AgedBalanceSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.is_done:
            raise SnapshotImmutableError(_("A snapshot that is done cannot be changed."))
        rows = [
            AgedBalanceSnapshotRow(
                snapshot=snapshot,
                customer_id=row["customer_id"],
                customer_ref=row["customer_ref"],
                customer_name=row["customer_name"],
                **{k: row[k] for k in AMOUNTS},
            )
            for row in ab.rows
            # A balance that rounds to nothing in every column is no balance (SQLite
            # sums decimals as floats and may leave a residue of 1e-11).
            if any(row[k] for k in AMOUNTS)
        ]
        AgedBalanceSnapshotRow.objects.bulk_create(rows)
        for key in AMOUNTS:
            setattr(snapshot, key, ab.totals[key])
        snapshot.customer_count = len(rows)
        snapshot.status = AgedBalanceSnapshot.Status.DONE
        snapshot.progress = PROGRESS_DONE
        snapshot.error = ""
        snapshot.completed_at = timezone.now()
        snapshot.save()
    return snapshot


def _set_progress(snapshot_id: int, progress: int, **fields) -> None:
    """Publish progress at once (autocommit), so the polling page sees it; never on a
    snapshot that is done."""
    AgedBalanceSnapshot.objects.filter(pk=snapshot_id).exclude(
        status=AgedBalanceSnapshot.Status.DONE
    ).update(progress=progress, **fields)


def snapshot_build(*, snapshot_id: int) -> AgedBalanceSnapshot:
    """Compute the whole ledger's aged balance as of the snapshot's date and store it.

    Idempotent: a snapshot already done is returned untouched. Safe to run twice at
    once (a retried task, two workers): both may compute, the row lock in
    :func:`snapshot_store` lets one write and the other finds it done. A failure marks
    the snapshot failed with the error, then re-raises so django-q2 records it."""
    snapshot = AgedBalanceSnapshot.objects.get(pk=snapshot_id)
    if snapshot.is_done:
        return snapshot
    _set_progress(
        snapshot_id, PROGRESS_COMPUTING, status=AgedBalanceSnapshot.Status.RUNNING, error=""
    )
    try:
        ab = aged_balance(user=None, as_of=snapshot.as_of)
        _set_progress(snapshot_id, PROGRESS_STORING)
        return snapshot_store(snapshot=snapshot, ab=ab)
    except SnapshotImmutableError:
        return AgedBalanceSnapshot.objects.get(pk=snapshot_id)
    except Exception as exc:
        logger.exception("Aged-balance snapshot %s as of %s failed", snapshot_id, snapshot.as_of)
        _set_progress(
            snapshot_id,
            0,
            status=AgedBalanceSnapshot.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS],
        )
        raise


def snapshot_take_month_end(*, today: datetime.date | None = None) -> AgedBalanceSnapshot:
    """The monthly run: the snapshot as of the last day of the month before ``today``
    (default: the local date), taken by the system; nothing happens if it is done."""
    as_of = previous_month_end(today or timezone.localdate())
    snapshot, _created = AgedBalanceSnapshot.objects.get_or_create(as_of=as_of)
    if snapshot.is_done:
        return snapshot
    return snapshot_build(snapshot_id=snapshot.pk)


# --- Reading a snapshot ----------------------------------------------------------------


def snapshot_aged_balance(*, snapshot: AgedBalanceSnapshot) -> AgedBalance:
    """A done snapshot as an :class:`AgedBalance`, so the CSV and XLSX writers of the
    live aged balance write it in exactly the same format. One query."""
    rows = [
        {
            "customer_id": r.customer_id,
            "customer_ref": r.customer_ref,
            "customer_name": r.customer_name,
        }
        | {k: getattr(r, k) for k in AMOUNTS}
        for r in AgedBalanceSnapshotRow.objects.filter(snapshot=snapshot).order_by("customer_ref")
    ]
    totals = {k: getattr(snapshot, k) or ZERO for k in AMOUNTS}
    return AgedBalance(as_of=snapshot.as_of, rows=rows, totals=totals)


def snapshot_pdf(*, snapshot: AgedBalanceSnapshot, ab: AgedBalance) -> bytes:
    """The snapshot as a printable PDF (A4 landscape), rendered with the shared
    WeasyPrint set-up of core/pdf.py: its URL fetcher serves only the project's
    static files, so the document cannot reach the network or the file system."""
    from core.pdf import asset_url, render_pdf

    html = render_to_string(
        "receivables/snapshot_pdf.html",
        {
            "snapshot": snapshot,
            "ab": ab,
            "company_name": CompanyProfile.get().name,
            "font_url": asset_url("fonts/DejaVuSans.ttf"),
            "font_bold_url": asset_url("fonts/DejaVuSans-Bold.ttf"),
        },
    )
    return render_pdf(html)
