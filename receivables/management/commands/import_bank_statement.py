"""``manage.py import_bank_statement FILE [--dry-run]``: a camt.053 or CSV statement."""

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from receivables import figures
from receivables.imports.bank import BankImporter
from receivables.imports.base import ImportAborted
from receivables.imports.command import ImportCommand
from receivables.imports.errors import ImportFileError


class Command(ImportCommand):
    """Reports and refuses like the other imports (ImportCommand), reads its own file."""

    # A plain string: argparse formats it before any language is active.
    help = (
        "Import a bank statement (ISO 20022 camt.053, or CSV with columns date, amount; "
        "optional currency, reference, counterparty_name, counterparty_iban, "
        "bank_reference). Credits naming one open invoice are allocated to it, other "
        "credits wait in the matching queue, debits are ignored. All or nothing; a line "
        "is never imported twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("camt.053 XML or CSV statement"))
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Validate the file and report what would be done, writing nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        importer = BankImporter()
        path = options["file"]
        try:
            plan, errors = importer.validate(path)
        except ImportFileError as exc:
            self._fail([exc.error])
        if errors:
            self._fail(errors.sorted())
        if options["dry_run"]:
            outcome = importer.describe(plan)
            self.stdout.write(_("Dry run of %(path)s: nothing was written.") % {"path": path})
        else:
            try:
                with figures.batch():  # one transaction, the figures refreshed once
                    outcome = importer.apply(plan)
            except ImportAborted as exc:
                self._fail([exc.error])
            self.stdout.write(
                _("Imported %(path)s.") % {"path": path}, style_func=self.style.SUCCESS
            )
        self._report(outcome)
