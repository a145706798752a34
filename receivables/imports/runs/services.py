"""The import page's services: upload (record the file, recognise its kind, propose a
column mapping), map, preview (validate and describe, writing nothing) and commit (the
importer's ``apply``, all or nothing in one transaction).

A large file (over :data:`LARGE_BYTES` or :data:`LARGE_ROWS` rows) is previewed and
committed by a django-q2 task (``receivables.tasks.import_run_work``) queued once the
run is committed; the run's ``stage`` says a task is at work and the page polls it.
Messages are produced in the uploader's language (``run.language``), stored as they are.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from receivables import figures
from receivables.imports.base import ImportAborted, Outcome
from receivables.imports.errors import ImportFileError, RowError
from receivables.imports.reader import MAX_FILE_BYTES
from receivables.imports.runs.files import (
    TABLE_KINDS,
    detect,
    fingerprint,
    mapping_problems,
)
from receivables.imports.runs.kinds import NeedsConfirmation, plan_run
from receivables.imports.runs.progress import ProgressReporter
from receivables.models import ColumnMapping, ImportRun

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)

Status = ImportRun.Status
LARGE_BYTES = 1024 * 1024
LARGE_ROWS = 2000
WORK_TASK = "receivables.tasks.import_run_work"
PREVIEWING = "previewing"
COMMITTING = "committing"


class RunRefused(Exception):
    """The file cannot be imported: every reason, with its line."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def is_large(run: ImportRun) -> bool:
    return run.size > LARGE_BYTES or run.progress_total > LARGE_ROWS


def is_spreadsheet(run: ImportRun) -> bool:
    """A CSV or XLSX file, whose columns are mapped (a camt.053 statement is not)."""
    return run.kind in TABLE_KINDS and bool(run.columns)


def previous_import(run: ImportRun) -> ImportRun | None:
    """The earlier committed import of the same file (same checksum, same kind)."""
    return (
        ImportRun.objects.filter(sha256=run.sha256, kind=run.kind, status=Status.IMPORTED)
        .exclude(pk=run.pk)
        .select_related("created_by")
        .order_by("-finished_at", "-pk")
        .first()
    )


# --- upload ------------------------------------------------------------------------------


def import_run_create(*, user: User, files: Iterable[UploadedFile]) -> list[ImportRun]:
    """One run per uploaded file (several e-invoices make several runs), recorded even
    when the file is refused. A run that needs no mapping is previewed at once (by a task
    for a large file)."""
    return [_create_one(user, upload) for upload in files]


def _create_one(user: User, upload: UploadedFile) -> ImportRun:
    name = PurePath(upload.name or "upload").name[:255] or "upload"
    run = ImportRun(
        created_by=user,
        file_name=name,
        size=upload.size or 0,
        language=translation.get_language() or "",
    )
    if run.size > MAX_FILE_BYTES:
        # Not even read: refused by its announced size.
        return _refuse_upload(
            run,
            _("The file is larger than %(size)d MB; split it.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)},
        )
    data = upload.read(MAX_FILE_BYTES + 1)
    run.size = len(data)
    run.sha256 = hashlib.sha256(data).hexdigest()
    try:
        detected = detect(data, name)
    except ImportFileError as exc:
        if len(data) <= MAX_FILE_BYTES:  # kept for download, unless too big to keep
            run.file.save(name, ContentFile(data), save=False)
        return _refuse_upload(run, exc.error.message)
    run.kind = detected.kind
    run.columns = detected.columns
    run.progress_total = detected.rows
    run.duplicate_of = previous_import(run)
    run.file.save(name, ContentFile(data), save=False)
    if is_spreadsheet(run):
        run.mapping = {c: detected.mapping.get(c, "") for c in detected.columns}
        if mapping_problems(run.kind, run.columns, run.mapping):
            run.status = Status.NEEDS_MAPPING
    with transaction.atomic():
        run.save()
        if run.status == Status.UPLOADED:
            _start_preview(run)
    run.refresh_from_db()
    return run


def _refuse_upload(run: ImportRun, message: str) -> ImportRun:
    run.status = Status.REFUSED
    run.error = message
    run.refused_rows = [{"line": None, "reason": message}]
    run.finished_at = timezone.now()
    run.save()
    return run


# --- mapping -----------------------------------------------------------------------------


def import_run_map(*, run: ImportRun, mapping: dict[str, str]) -> ImportRun:
    """Use ``mapping`` (file column → expected column, "" to ignore) for ``run``,
    remember it for the next file with the same header, and preview again. Raises
    ValidationError when a required column is unmapped or a target chosen twice."""
    if not is_spreadsheet(run) or run.status in (Status.IMPORTED, Status.RUNNING):
        raise ValidationError(_("The columns of this import can no longer be changed."))
    if run.is_working:
        raise ValidationError(_("Wait until the file has been checked."))
    mapping = {c: mapping.get(c, "") for c in run.columns}
    problems = mapping_problems(run.kind, run.columns, mapping)
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        ColumnMapping.objects.update_or_create(
            kind=run.kind,
            fingerprint=fingerprint(run.columns),
            defaults={"columns": run.columns, "mapping": mapping},
        )
        run.mapping = mapping
        run.status = Status.UPLOADED
        run.counts, run.refused_rows, run.notes, run.sample = [], [], [], {}
        run.save()
        _start_preview(run)
    run.refresh_from_db()
    return run


def import_run_confirm(*, run: ImportRun) -> ImportRun:
    """The user confirms the warnings of an e-invoice refused only for them: preview it
    again, accepting them (the commit accepts them too)."""
    if not run.needs_confirmation or run.status != Status.REFUSED:
        raise ValidationError(_("This import has nothing to confirm."))
    with transaction.atomic():
        run.confirmed = True
        run.needs_confirmation = False
        run.status = Status.UPLOADED
        run.refused_rows = []
        run.save()
        _start_preview(run)
    run.refresh_from_db()
    return run


# --- preview -----------------------------------------------------------------------------


def _queue(run_id: int, step: str) -> None:
    from django_q.tasks import async_task

    async_task(WORK_TASK, run_id, step, group="imports")


def _start_preview(run: ImportRun) -> None:
    """Preview ``run`` now, or queue it once the caller's transaction commits."""
    if is_large(run):
        run.stage = PREVIEWING
        run.progress_done = 0
        run.save(update_fields=["stage", "progress_done"])
        run_id = run.pk
        transaction.on_commit(lambda: _queue(run_id, "preview"))
    else:
        import_run_preview(run_id=run.pk)


def _counts(outcome: Outcome) -> list[list[object]]:
    return [
        [str(label), str(value) if isinstance(value, Decimal) else value]
        for label, value in outcome.counts
    ]


def _refusals(errors: list[RowError]) -> list[dict[str, object]]:
    return [{"line": e.line, "reason": e.message} for e in errors]


def import_run_preview(*, run_id: int) -> ImportRun:
    """Validate and describe the run's file, storing the counts, the refused rows with
    their lines and a sample; the ledger is not written (the whole preview runs in a
    transaction rolled back). The run is then *previewed*, or *refused*."""
    run = ImportRun.objects.get(pk=run_id)
    if run.status != Status.UPLOADED:
        return run
    run.counts, run.notes, run.sample = [], [], {}
    run.needs_confirmation = False
    with translation.override(run.language or None):
        try:
            with transaction.atomic():
                planned = plan_run(run, _read(run))
                outcome = planned.describe(planned.plan)
                transaction.set_rollback(True)
        except ImportFileError as exc:
            errors = [exc.error]
            run.needs_confirmation = isinstance(exc, NeedsConfirmation)
        except Exception as exc:
            logger.exception("Preview of import run %s failed", run.pk)
            return _fail(run, exc)
        else:
            errors = planned.errors
            run.counts = _counts(outcome)
            run.notes = [str(n) for n in outcome.notes]
            run.sample = planned.sample
    run.refused_rows = _refusals(errors)
    run.status = Status.REFUSED if errors else Status.PREVIEWED
    run.error = ""
    run.stage = ""
    run.progress_done = run.progress_total
    run.save()
    return run


def _read(run: ImportRun) -> bytes:
    with run.file.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _fail(run: ImportRun, exc: Exception) -> ImportRun:
    run.status = Status.FAILED
    run.stage = ""
    run.error = _(
        "The import stopped on an unexpected error (%(reason)s); nothing was written. "
        "Tell your administrator."
    ) % {"reason": type(exc).__name__}
    run.finished_at = timezone.now()
    run.save()
    return run


# --- commit ------------------------------------------------------------------------------


def import_run_request_commit(*, run: ImportRun) -> ImportRun:
    """Commit a previewed run: at once for a small file, by a task for a large one. A
    run that is not (or no longer) previewed is returned unchanged."""
    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run.pk)
        if not locked.can_commit:
            return locked
        if is_large(locked):
            locked.status = Status.RUNNING
            locked.stage = COMMITTING
            locked.progress_done = 0
            locked.save(update_fields=["status", "stage", "progress_done"])
            run_id = locked.pk
            transaction.on_commit(lambda: _queue(run_id, "commit"))
            return locked
    return import_run_commit(run_id=run.pk)


def import_run_commit(*, run_id: int) -> ImportRun:
    """Validate the file again (the ledger may have changed since the preview) and write
    it through the importer's ``apply``, all in one transaction: any refusal undoes
    everything and the run is *refused* with its reasons; else it is *imported*."""
    reporter = ProgressReporter(run_id)
    try:
        with transaction.atomic():
            run = ImportRun.objects.select_for_update().get(pk=run_id)
            if run.status not in (Status.PREVIEWED, Status.RUNNING):
                return run
            with translation.override(run.language or None):
                planned = plan_run(run, _read(run))
                if planned.errors:
                    raise RunRefused(planned.errors)
                if planned.importer is not None:
                    planned.importer.progress = reporter
                with figures.batch():  # the figures refreshed once, at the end
                    outcome = planned.apply(planned.plan)
                run.counts = _counts(outcome)
                run.notes = [str(n) for n in outcome.notes]
            run.status = Status.IMPORTED
            run.stage = ""
            run.refused_rows = []
            run.progress_done = run.progress_total
            run.finished_at = timezone.now()
            run.save()
            return run
    except (RunRefused, ImportAborted, ImportFileError) as exc:
        errors = exc.errors if isinstance(exc, RunRefused) else [exc.error]
        run = ImportRun.objects.get(pk=run_id)
        run.status = Status.REFUSED
        run.stage = ""
        run.refused_rows = _refusals(errors)
        run.finished_at = timezone.now()
        run.save()
        return run
    except Exception as exc:
        logger.exception("Import run %s failed", run_id)
        return _fail(ImportRun.objects.get(pk=run_id), exc)
    finally:
        reporter.close()
