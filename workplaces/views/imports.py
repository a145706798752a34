"""The import page (finance staff only, ``Action.IMPORT``): upload files, map the
columns of a spreadsheet, preview what would be created or refused, commit all or
nothing, and find every earlier import with its original file.

Views parse input, call one service of receivables/imports/runs, render. A run that a
task is working on is polled by its page (the ``status`` fragment, every second) until
the task is done.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from core import access
from core.access import AuthenticatedHttpRequest
from core.htmx import render_page
from receivables.imports import runs
from receivables.models import ImportRun
from receivables.selectors import bank as bank_selectors

RUNS_PER_PAGE = 25
MAX_FILES = 20


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            raise ValidationError(self.error_messages["required"], code="required")
        if len(files) > MAX_FILES:
            raise ValidationError(
                _("Upload at most %(max)d files at once.") % {"max": MAX_FILES}, code="too_many"
            )
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(forms.Form):
    import_files = MultipleFileField(
        label=gettext_lazy("Files"),
        help_text=gettext_lazy(
            "Invoices or payments (CSV or XLSX), a FEC, e-invoices (Factur-X PDF, UBL or "
            "CII XML; several at once) or a bank statement (camt.053 or CSV)."
        ),
        error_messages={"required": gettext_lazy("Choose at least one file.")},
    )


class MappingForm(forms.Form):
    """One select per column of the file, offering the columns the import expects;
    required ones are marked and must each be chosen once (the service checks)."""

    def __init__(self, *args, run: ImportRun, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.run = run
        required, optional = runs.expected_columns(run.kind)
        choices = [("", _("— ignore this column —"))]
        choices += [(name, _("%(name)s (required)") % {"name": name}) for name in required]
        choices += [(name, name) for name in optional]
        self.columns = list(run.columns)
        for index, column in enumerate(self.columns):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=run.mapping.get(column, ""),
            )

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data.get(f"col_{index}", "")
            for index, column in enumerate(self.columns)
        }


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
    return get_object_or_404(
        ImportRun.objects.select_related("created_by", "duplicate_of__created_by"), pk=pk
    )


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
