"""Errors of an import: one per problem, each with the file line it comes from."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True, order=True)
class RowError:
    """A problem found in a file. ``line`` is the file's own line number (the header is
    line 1), or ``None`` for a problem of the file as a whole, so users can find it."""

    line: int | None
    message: str

    def __str__(self) -> str:
        # A value quoted from a multi-line cell must not break "one error per line".
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")
        if self.line is None:
            return message
        return _("line %(line)d: %(message)s") % {"line": self.line, "message": message}


class ImportFileError(Exception):
    """The file cannot be read as a table at all (empty, binary, wrong format, missing
    columns): raised by the reader, reported as one error, nothing imported."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.error = RowError(line, message)


class ErrorList:
    """Collects every error of a file so they can all be reported at once."""

    def __init__(self) -> None:
        self._errors: list[RowError] = []

    def add(self, line: int | None, message: str) -> None:
        self._errors.append(RowError(line, message))

    def __bool__(self) -> bool:
        return bool(self._errors)

    def __len__(self) -> int:
        return len(self._errors)

    def sorted(self) -> list[RowError]:
        """Errors in file order (file-level ones first), stable within a line."""
        return sorted(self._errors, key=lambda e: -1 if e.line is None else e.line)
