"""``manage.py import_einvoices FILE... [--dry-run] [--confirmed]``: e-invoices and credit notes."""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.audit import AuditedCommand
from receivables import figures
from receivables.imports import einvoices
from receivables.imports.base import ImportAborted
from receivables.imports.errors import ImportFileError


class Command(AuditedCommand):
    # A plain string: argparse formats it before any language is active.
    help = (
        "Import electronic invoices and credit notes: Factur-X / ZUGFeRD PDFs, UBL 2.1 or "
        "UN/CEFACT CII XML. Each file is all or nothing; importing the same document again "
        "changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate the files and report what would be done, writing nothing.",
        )
        parser.add_argument(
            "--confirmed",
            action="store_true",
            help="Import invoices dated more than a year ago or without a required PO number.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for path in options["files"]:
            if not self._one(path, dry_run=options["dry_run"], confirmed=options["confirmed"]):
                failed += 1
        if failed:
            raise CommandError(
                ngettext(
                    "%(failed)d of %(total)d file was refused: nothing of it was imported.",
                    "%(failed)d of %(total)d files were refused: nothing of them was imported.",
                    failed,
                )
                % {"failed": failed, "total": len(options["files"])}
            )

    def _one(self, path: str, *, dry_run: bool, confirmed: bool) -> bool:
        try:
            document, pdf = einvoices.read_file(path)
            plan = einvoices.plan_document(document, pdf, confirmed=confirmed)
            if dry_run:
                outcome = einvoices.describe(plan)
                self.stdout.write(
                    _("Dry run of %(path)s (%(syntax)s %(number)s): nothing was written.")
                    % {"path": path, "syntax": document.syntax, "number": document.number}
                )
            else:
                with figures.batch():  # one transaction, the figures refreshed once
                    outcome = einvoices.apply(plan)
                self.stdout.write(
                    _("Imported %(path)s (%(syntax)s %(number)s).")
                    % {"path": path, "syntax": document.syntax, "number": document.number},
                    style_func=self.style.SUCCESS,
                )
        except ImportFileError as exc:
            self.stderr.write(
                _("%(path)s: refused, nothing imported: %(reason)s")
                % {"path": path, "reason": exc.error}
            )
            return False
        except ImportAborted as exc:
            self.stderr.write(
                _("%(path)s: refused, nothing imported: %(reason)s")
                % {"path": path, "reason": exc.error}
            )
            return False
        for note in outcome.notes:
            self.stdout.write(_("Note: %(note)s") % {"note": note})
        for label, value in outcome.counts:
            self.stdout.write(f"  {label}: {value}")
        return True
