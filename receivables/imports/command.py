"""The management-command side of an import: arguments, reporting, the transaction."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.audit import AuditedCommand
from receivables import figures
from receivables.imports.base import ImportAborted, Importer, Outcome
from receivables.imports.errors import ImportFileError, RowError
from receivables.imports.reader import Table, read_table


def import_failed(errors: list[RowError]) -> CommandError:
    """The CommandError refusing an import: its message is the final "nothing was
    imported" line (exit status 1); ``errors`` lists every problem, already written to
    stderr one per line. A plain CommandError, so manage.py prints "CommandError: ..."."""
    count = len(errors)
    exc = CommandError(
        ngettext(
            "%(count)d error found: nothing was imported.",
            "%(count)d errors found: nothing was imported.",
            count,
        )
        % {"count": count}
    )
    exc.errors = errors  # type: ignore[attr-defined]
    return exc


class ImportCommand(AuditedCommand):
    """Read FILE, validate all of it, and write it in one transaction only when it has no
    error at all; ``--dry-run`` stops after the validation and says what would happen."""

    importer_class: ClassVar[type[Importer]]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("CSV (comma or semicolon, UTF-8) or XLSX file"))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Validate the file and report what would be done, writing nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        importer = self.importer_class()
        path = options["file"]
        try:
            table = self.read(path, importer)
        except ImportFileError as exc:
            self._fail([exc.error])
        plan, errors = importer.validate(table)
        if errors:
            self._fail(errors.sorted())
        if table.ignored_columns:
            self.stdout.write(
                _("Ignored columns: %(columns)s") % {"columns": ", ".join(table.ignored_columns)}
            )
        if options["dry_run"]:
            outcome = importer.describe(plan)
            self.stdout.write(
                ngettext(
                    "Dry run of %(path)s: %(rows)d valid row, nothing was written.",
                    "Dry run of %(path)s: %(rows)d valid rows, nothing was written.",
                    len(table.rows),
                )
                % {"path": path, "rows": len(table.rows)}
            )
        else:
            try:
                with figures.batch():  # one transaction, the figures refreshed once
                    outcome = importer.apply(plan)
            except ImportAborted as exc:
                self._fail([exc.error])
            self.stdout.write(
                ngettext(
                    "Imported %(path)s: %(rows)d row.",
                    "Imported %(path)s: %(rows)d rows.",
                    len(table.rows),
                )
                % {"path": path, "rows": len(table.rows)},
                style_func=self.style.SUCCESS,
            )
        self._report(outcome)

    def read(self, path: str, importer: Importer) -> Table:
        """The file as a table; raises ImportFileError when it cannot be read."""
        return read_table(path, required=importer.required, optional=importer.optional)

    def _report(self, outcome: Outcome) -> None:
        for note in outcome.notes:
            self.stdout.write(_("Note: %(note)s") % {"note": note})
        for label, value in outcome.counts:
            self.stdout.write(f"{label}: {value}")

    def _fail(self, errors: list[RowError]) -> NoReturn:
        for error in errors:
            self.stderr.write(str(error))
        raise import_failed(errors)
