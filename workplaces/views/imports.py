"""The import page (finance staff only, ``Action.IMPORT``): upload files, map the
columns of a spreadsheet, preview what would be created or refused, commit all or
nothing, and find every earlier import with its original file.

Views parse input, call one service of receivables/imports/runs, render. A run that a
task is working on is polled by its page (the ``status`` fragment, every second) until
the task is done.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from core import access
from core.access import AuthenticatedHttpRequest
from core.htmx import render_page
from receivables.imports import runs
from receivables.imports.runs.progress import rows_written
from receivables.models import ImportRun
from receivables.selectors import bank as bank_selectors
from workplaces.forms.imports import MappingForm, UploadForm

RUNS_PER_PAGE = 25


def _runs_page(request: HttpRequest):
    queryset = ImportRun.objects.select_related("created_by", "duplicate_of__created_by")
    return Paginator(queryset, RUNS_PER_PAGE).get_page(request.GET.get("page"))


@require_GET
def imports_home(request: HttpRequest) -> HttpResponse:
    access.require(request.user, access.Action.IMPORT)
    page = _runs_page(request)
    context = {
        "form": UploadForm(),
        "page": page,
        "working": any(run.is_working for run in page),
        "bank_queue": bank_selectors.queue_size(),
    }
    return render_page(request, "workplaces/imports/list.html", context, fragment="runs")


@require_POST
def imports_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    access.require(request.user, access.Action.IMPORT)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        page = _runs_page(request)
        context = {
            "form": form,
            "page": page,
            "working": any(r.is_working for r in page),
            "bank_queue": bank_selectors.queue_size(),
        }
        response = render_page(request, "workplaces/imports/list.html", context, fragment="runs")
        response.status_code = 400
        return response
    created = runs.import_run_create(user=request.user, files=form.cleaned_data["import_files"])
    if len(created) == 1:
        return redirect("imports:run", pk=created[0].pk)
    messages.success(
        request,
        ngettext(
            "%(count)d file uploaded: open it to check its preview.",
            "%(count)d files uploaded: open each one to check its preview.",
            len(created),
        )
        % {"count": len(created)},
    )
    return redirect("imports:home")


def _run(pk: int) -> ImportRun:
    run = get_object_or_404(
        ImportRun.objects.select_related("created_by", "duplicate_of__created_by"), pk=pk
    )
    if run.is_working:  # what the task has written so far, outside its transaction
        done = rows_written(run.pk)
        if done is not None:
            run.progress_done = max(run.progress_done, done)
    return run


def _run_context(run: ImportRun, form: MappingForm | None = None) -> dict:
    spreadsheet = runs.is_spreadsheet(run)
    if form is None and spreadsheet:
        form = MappingForm(run=run)
    return {
        "run": run,
        "form": form,
        "spreadsheet": spreadsheet,
        "mappable": spreadsheet
        and not run.is_working
        and run.status not in (ImportRun.Status.IMPORTED, ImportRun.Status.RUNNING),
    }


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, access.Action.IMPORT)
    run = _run(pk)
    return render_page(request, "workplaces/imports/run.html", _run_context(run), fragment="status")


@require_POST
def run_map(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, access.Action.IMPORT)
    run = _run(pk)
    if run.kind not in runs.TABLE_KINDS:
        messages.error(request, _("This file has no columns to map."))
        return redirect("imports:run", pk=run.pk)
    form = MappingForm(request.POST, run=run)
    if form.is_valid():
        try:
            runs.import_run_map(run=run, mapping=form.mapping())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("imports:run", pk=run.pk)
    response = render_page(
        request, "workplaces/imports/run.html", _run_context(run, form), fragment="status"
    )
    response.status_code = 400
    return response


@require_POST
def run_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, access.Action.IMPORT)
    run = _run(pk)
    try:
        runs.import_run_confirm(run=run)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("imports:run", pk=run.pk)


@require_POST
def run_commit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, access.Action.IMPORT)
    run = _run(pk)
    if not run.can_commit:
        messages.error(request, _("This import cannot be committed: see its status below."))
        return redirect("imports:run", pk=run.pk)
    run = runs.import_run_request_commit(run=run)
    if run.status == ImportRun.Status.IMPORTED:
        messages.success(request, _("The file was imported."))
    elif run.status == ImportRun.Status.REFUSED:
        messages.error(request, _("The file was refused: nothing was imported."))
    return redirect("imports:run", pk=run.pk)


@require_GET
def run_download(request: HttpRequest, pk: int) -> FileResponse:
    access.require(request.user, access.Action.IMPORT)
    run = _run(pk)
    if not run.file:
        raise Http404(_("This file was not kept."))
    try:
        handle = run.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("This file was not kept.")) from exc
    response = FileResponse(handle, as_attachment=True, filename=run.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
