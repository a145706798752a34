"""Disputes, promises to pay, the timeline's activities, the reminders sent (read-only)
and the import runs (read-only): the follow-up of the ledger."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Router, Status, UploadedFile

from api import schemas as s
from api.auth import IMPORT, NOTES, READ, WRITE
from api.pagination import paginate
from api.routes.common import get_visible, referenced, since, visible
from core import access
from customers.models import Activity, Customer
from receivables.imports import runs
from receivables.models import Dispute, ImportRun, Invoice, PromiseToPay
from reminders import services
from reminders.models import Reminder

router = Router()


# --- disputes -------------------------------------------------------------------------


def dispute_out(d: Dispute) -> dict[str, Any]:
    return {
        "id": d.pk,
        "invoice": d.invoice_id,
        "customer": d.invoice.customer_id,
        "reason": d.reason,
        "description": d.description,
        "opened_at": d.opened_at,
        "resolved_at": d.resolved_at,
        "resolution": d.resolution,
    }


def _disputes(request: HttpRequest):
    return visible(Dispute, request).select_related("invoice")


@router.get("/disputes", response=s.DisputePage, auth=READ, url_name="disputes", tags=["follow-up"])
def dispute_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: s.Limit = 50,
    customer: s.Id | None = None,
    status: str | None = None,
    updated_since: s.Moment | None = None,
) -> dict[str, Any]:
    """Disputes by id; ``status``: open or resolved; ``updated_since``: opened or
    resolved since."""
    qs = _disputes(request)
    if customer is not None:
        qs = qs.filter(invoice__customer_id=customer)
    if status == "open":
        qs = qs.filter(resolved_at__isnull=True)
    elif status == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    if updated_since is not None:
        qs = qs.filter(since("opened_at", updated_since) | since("resolved_at", updated_since))
    return paginate(qs, cursor=cursor, limit=limit, serialize=lambda r: [dispute_out(d) for d in r])


@router.post(
    "/disputes", response={201: s.DisputeOut}, auth=WRITE, url_name="disputes", tags=["follow-up"]
)
def dispute_open(request: HttpRequest, payload: s.DisputeIn) -> Status:
    """Open a dispute on an invoice: its reminders stop until it is resolved."""
    invoice = referenced(visible(Invoice, request).invoices(), payload.invoice, "invoice")
    with transaction.atomic():
        dispute = services.dispute_open(
            invoice=invoice,  # type: ignore[arg-type]
            user=request.auth.user,  # type: ignore[attr-defined]
            reason=payload.reason,
            description=payload.description,
        )
    return Status(201, dispute_out(get_visible(_disputes(request), dispute.pk)))


@router.post(
    "/disputes/{int:dispute_id}/resolve",
    response=s.DisputeOut,
    auth=WRITE,
    url_name="dispute_resolve",
    tags=["follow-up"],
)
def dispute_resolve(
    request: HttpRequest, dispute_id: int, payload: s.DisputeResolveIn
) -> dict[str, Any]:
    """Resolve a dispute: the invoice's reminders resume."""
    dispute = get_visible(_disputes(request), dispute_id)
    with transaction.atomic():
        services.dispute_resolve(
            dispute=dispute,
            user=request.auth.user,  # type: ignore[attr-defined]
            resolution=payload.resolution,
        )
    return dispute_out(get_visible(_disputes(request), dispute.pk))


# --- promises -------------------------------------------------------------------------


def promise_out(p: PromiseToPay) -> dict[str, Any]:
    return {
        "id": p.pk,
        "customer": p.customer_id,
        "promised_date": p.promised_date,
        "amount": p.amount,
        "status": p.status,
        "note": p.note,
        "invoices": sorted(i.pk for i in p.invoices.all()),
        "created_at": p.created_at,
    }


def _promises(request: HttpRequest):
    return visible(PromiseToPay, request).prefetch_related("invoices")


@router.get("/promises", response=s.PromisePage, auth=READ, url_name="promises", tags=["follow-up"])
def promise_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: s.Limit = 50,
    customer: s.Id | None = None,
    status: PromiseToPay.Status | None = None,
    updated_since: s.Moment | None = None,
) -> dict[str, Any]:
    """Promises to pay by id; ``updated_since``: recorded since."""
    qs = _promises(request).filter(since("created_at", updated_since))
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    if status:
        qs = qs.filter(status=status)
    return paginate(qs, cursor=cursor, limit=limit, serialize=lambda r: [promise_out(p) for p in r])


@router.post(
    "/promises", response={201: s.PromiseOut}, auth=NOTES, url_name="promises", tags=["follow-up"]
)
def promise_record(request: HttpRequest, payload: s.PromiseIn) -> Status:
    """Record a promise to pay (finance staff, or the customer's sales rep): reminders of
    the invoices it names (all the customer's when none) wait until the promised date."""
    customer = referenced(visible(Customer, request), payload.customer, "customer")
    invoices = [
        referenced(visible(Invoice, request).invoices(), pk, "invoices") for pk in payload.invoices
    ]
    with transaction.atomic():
        promise = services.promise_record(
            customer=customer,  # type: ignore[arg-type]
            user=request.auth.user,  # type: ignore[attr-defined]
            promised_date=payload.promised_date,
            amount=payload.amount,
            invoices=[i for i in invoices if i is not None],
            note=payload.note,
        )
    return Status(201, promise_out(get_visible(_promises(request), promise.pk)))


# --- activities -----------------------------------------------------------------------


def activity_out(a: Activity) -> dict[str, Any]:
    return {
        "id": a.pk,
        "customer": a.customer_id,
        "kind": a.kind,
        "author": a.author_id,
        "occurred_at": a.occurred_at,
        "summary": a.summary,
        "body": a.body,
        "outcome": a.outcome,
        "next_action_date": a.next_action_date,
    }


@router.get(
    "/activities", response=s.ActivityPage, auth=READ, url_name="activities", tags=["follow-up"]
)
def activity_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: s.Limit = 50,
    customer: s.Id | None = None,
    kind: Activity.Kind | None = None,
    updated_since: s.Moment | None = None,
) -> dict[str, Any]:
    """The customers' timelines (calls, notes, emails, letters, disputes, promises…), by
    id; ``updated_since``: happened since."""
    qs = visible(Activity, request).filter(since("occurred_at", updated_since))
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    if kind:
        qs = qs.filter(kind=kind)
    return paginate(
        qs, cursor=cursor, limit=limit, serialize=lambda r: [activity_out(a) for a in r]
    )


@router.post(
    "/activities",
    response={201: s.ActivityOut},
    auth=NOTES,
    url_name="activities",
    tags=["follow-up"],
)
def activity_log(request: HttpRequest, payload: s.ActivityIn) -> Status:
    """Log a call or a note on a customer's timeline."""
    customer = referenced(visible(Customer, request), payload.customer, "customer")
    with transaction.atomic():
        activity = services.activity_log(
            customer=customer,  # type: ignore[arg-type]
            user=request.auth.user,  # type: ignore[attr-defined]
            kind=payload.kind,
            summary=payload.summary,
            body=payload.body,
            outcome=payload.outcome,
            next_action_date=payload.next_action_date,
        )
    return Status(201, activity_out(activity))


# --- reminders (read-only) ------------------------------------------------------------


def _document_sha256(r: Reminder) -> str | None:
    """The SHA-256 of the stored letter (the one the timeline quotes), if any."""
    if not r.pdf:
        return None
    try:
        with r.pdf.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def reminder_out(r: Reminder) -> dict[str, Any]:
    return {
        "id": r.pk,
        "customer": r.customer_id,
        "step": r.step.name,
        "channel": r.channel,
        "status": r.status,
        "run_date": r.run_date,
        "sent_at": r.sent_at,
        "subject": r.subject,
        "recipients": r.recipients or {},
        "message_id": r.message_id,
        "tracking_number": r.tracking_number,
        "document_sha256": _document_sha256(r),
    }


@router.get(
    "/reminders", response=s.ReminderPage, auth=READ, url_name="reminders", tags=["follow-up"]
)
def reminder_list(
    request: HttpRequest,
    cursor: str | None = None,
    limit: s.Limit = 50,
    customer: s.Id | None = None,
    status: Reminder.Status | None = None,
    channel: Reminder.Channel | None = None,
    updated_since: s.Moment | None = None,
) -> dict[str, Any]:
    """What was sent (or is planned) when, by id: emails, letters with the SHA-256 of
    the stored PDF, tasks. ``updated_since``: created or sent since."""
    qs = visible(Reminder, request).select_related("step")
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if updated_since is not None:
        qs = qs.filter(Q(created_at__gte=updated_since) | Q(sent_at__gte=updated_since))
    return paginate(
        qs, cursor=cursor, limit=limit, serialize=lambda r: [reminder_out(x) for x in r]
    )


# --- import runs (read-only) ----------------------------------------------------------


def import_out(run: ImportRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "stage": run.stage,
        "progress_done": run.progress_done,
        "progress_total": run.progress_total,
        "can_commit": run.can_commit,
        "file_name": run.file_name,
        "sha256": run.sha256,
        "size": run.size,
        "created_at": run.created_at,
        "counts": run.counts,
        "refused_rows": run.refused_rows,
        "error": run.error,
    }


def _imports(request: HttpRequest):
    if not access.may(request.auth.user, access.Action.IMPORT):  # type: ignore[attr-defined]
        raise PermissionDenied
    return ImportRun.objects.all()


@router.get("/imports", response=s.ImportRunPage, auth=READ, url_name="imports", tags=["imports"])
def import_list(
    request: HttpRequest, cursor: str | None = None, limit: s.Limit = 50
) -> dict[str, Any]:
    """The import runs (finance staff, as the Imports page): their outcome, counts and
    refused rows. Uploading stays on the page."""
    return paginate(
        _imports(request),
        cursor=cursor,
        limit=limit,
        serialize=lambda r: [import_out(x) for x in r],
    )


@router.post(
    "/imports",
    response={201: s.ImportRunOut},
    auth=IMPORT,
    url_name="imports",
    tags=["imports"],
)
def import_upload(request: HttpRequest, file: File[UploadedFile]) -> Status:
    """Upload a file (multipart, field ``file``) as the Imports page does: its kind is
    recognised from its content and it is previewed (by the worker for a large file).
    Poll ``GET /imports/{id}`` until ``status`` is ``previewed`` (or ``needs_mapping``:
    map its columns on the page), then ``POST /imports/{id}/commit``."""
    (run,) = runs.import_run_create(user=request.auth.user, files=[file])  # type: ignore[attr-defined]
    return Status(201, import_out(run))


@router.post(
    "/imports/{int:run_id}/commit",
    response=s.ImportRunOut,
    auth=IMPORT,
    url_name="import_commit",
    tags=["imports"],
)
def import_commit(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """Write a previewed run into the ledger, all or nothing (the file is checked again);
    a run that cannot be committed (see ``can_commit``) is refused."""
    run = get_visible(_imports(request), run_id)
    if not run.can_commit:
        raise ValidationError(_("This import cannot be committed: see its status."))
    return import_out(runs.import_run_request_commit(run=run))


@router.get(
    "/imports/{int:run_id}",
    response=s.ImportRunOut,
    auth=READ,
    url_name="import_run",
    tags=["imports"],
)
def import_detail(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return import_out(get_visible(_imports(request), run_id))
