"""What every importer shares: the validate-then-write contract and batched look-ups."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models
from django.utils.translation import gettext as _

from receivables.imports.errors import ErrorList, RowError
from receivables.imports.parsing import CellError, cell_text
from receivables.imports.reader import Row, Table

# What a spreadsheet takes for the start of a formula in a text cell (OWASP's CSV
# injection list, less the minus sign, which starts negative numbers and credit notes).
FORMULA_STARTS = ("=", "+", "@", "\t", "\r")

# Stay under SQLite's limit on query parameters whatever the file size.
LOOKUP_CHUNK = 500


class ImportAborted(Exception):
    """The database refused a write the validation had accepted (a concurrent import,
    a rule only the database knows): the transaction is rolled back and the error is
    reported like a validation error, with its line."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Outcome:
    """What an import did (or, in a dry run, would do): counters and notes for the
    summary, in the order they are printed."""

    counts: list[tuple[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Progressive:
    """An importer that says how many rows its ``apply`` has written so far (the import
    page's progress bar): ``progress`` is called with the count, when one is given."""

    progress: Callable[[int], None] | None = None

    def tick(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done)


class Importer(Progressive):
    """One kind of import. ``validate`` reads every row and collects every error without
    writing anything; ``apply`` writes a validated plan (the caller holds the
    transaction). Subclasses declare their columns."""

    required: ClassVar[Sequence[str]] = ()
    optional: ClassVar[Sequence[str]] = ()

    def validate(self, table: Table) -> tuple[Any, ErrorList]:
        raise NotImplementedError

    def describe(self, plan: Any) -> Outcome:
        """What ``apply`` would do with ``plan``, for a dry run."""
        raise NotImplementedError

    def apply(self, plan: Any) -> Outcome:
        raise NotImplementedError


def fetch_in[M: models.Model](
    queryset: models.QuerySet[M], field_name: str, values: Iterable[Any]
) -> Iterator[M]:
    """Rows of ``queryset`` whose ``field_name`` is in ``values``: one query per
    LOOKUP_CHUNK values, never one per row."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        yield from queryset.filter(**{f"{field_name}__in": chunk})


def text(row: Row, column: str) -> str:
    return cell_text(row.get(column))


class RowReader:
    """Reads the cells of one row, recording an error per bad cell instead of stopping at
    the first, so a row with three problems reports three."""

    def __init__(self, line: int, row: Row, errors: ErrorList) -> None:
        self.line = line
        self.row = row
        self.errors = errors
        self.ok = True

    def error(self, message: str) -> None:
        self.ok = False
        self.errors.add(self.line, message)

    def required(self, column: str) -> str:
        value = self.optional(column)
        if not value and text(self.row, column) == "":
            self.error(_("missing value in required column %(column)s.") % {"column": column})
        return value

    def optional(self, column: str) -> str:
        value = text(self.row, column)
        if value.startswith(FORMULA_STARTS):
            # Stored, it would come back out in every export and spreadsheet a user opens.
            self.error(
                _(
                    "%(column)s starts with %(sign)s: a spreadsheet would run it as a "
                    "formula; remove the sign."
                )
                % {"column": column, "sign": value[0]}
            )
            return ""
        return value

    def free_text(self, column: str) -> str:
        """A text written by someone outside the company (a payer's remittance), read as
        it is: refusing it would let them block the import."""
        return text(self.row, column)

    def check_length(self, column: str, value: str, max_length: int | None) -> str:
        if max_length is not None and len(value) > max_length:
            self.error(
                _("%(column)s is longer than %(max)d characters.")
                % {"column": column, "max": max_length}
            )
        return value

    def parse(self, column: str, parser: Callable[[object], Any], *, required: bool = True) -> Any:
        """The parsed cell, or None when it is empty (an error if required) or invalid."""
        raw = self.row.get(column)
        if cell_text(raw) == "":
            if required:
                self.required(column)
            return None
        try:
            return parser(raw)
        except CellError as exc:
            self.error(f"{column}: {exc}")
            return None


@contextmanager
def writing_line(line: int | None) -> Iterator[None]:
    """Turn a refusal of the database or of a service while writing ``line`` into an
    :class:`ImportAborted` naming that line (the surrounding transaction rolls back)."""
    try:
        yield
    except ValidationError as exc:
        raise ImportAborted(RowError(line, " ".join(exc.messages))) from exc
    except DatabaseError as exc:
        raise ImportAborted(
            RowError(line, _("the database refused the write (%(reason)s).") % {"reason": exc})
        ) from exc
