"""The import page's forms: the upload of one or several files, the column mapping of a
spreadsheet."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from receivables.imports import runs
from receivables.models import ImportRun

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
