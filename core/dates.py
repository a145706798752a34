"""Dates as people write them, read one way everywhere: ``YYYY-MM-DD`` or ``DD/MM/YYYY``.

The command-line options (``--date``, ``--as-of``), the imports' date cells and every
date field of the pages go through :func:`parse_day`. Other forms (``MM/DD/YYYY``,
two-digit years, ``15.03.2026``) are refused rather than guessed: a day and a month
swapped silently would shift every due date and every reminder. The pages enter dates
with the browser's date picker (:class:`DayInput`), which sends ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

ISO_FORMAT = "%Y-%m-%d"
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_FRENCH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class DateParseError(ValueError):
    """Text that is not a date in an accepted form; the message is meant for the user."""


def parse_day(text: str) -> datetime.date:
    """The date ``text`` writes as ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (surrounding spaces
    ignored); :class:`DateParseError`, with a translated message, for anything else."""
    text = text.strip()
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _FRENCH.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise DateParseError(
            _("%(value)s is not a date; write YYYY-MM-DD or DD/MM/YYYY.") % {"value": text}
        )
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise DateParseError(_("%(value)s is not a valid date.") % {"value": text}) from None


def parse_day_option(value: str, option: str) -> datetime.date:
    """A command's date option: :func:`parse_day`, or a ``CommandError`` naming the
    option (the command then exits non-zero with that message)."""
    try:
        return parse_day(value)
    except DateParseError as error:
        raise CommandError(
            _("Invalid date for %(option)s: %(error)s") % {"option": option, "error": error}
        ) from None


class DayInput(forms.DateInput):
    """The one date widget: the browser's date picker, with the value as ``YYYY-MM-DD``
    (the only form an ``<input type="date">`` shows)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_FORMAT)


class DayField(forms.DateField):
    """The one date form field: :class:`DayInput`, read by :func:`parse_day` whatever
    the user's language (``04/03/2026`` is 4 March, never April 3rd)."""

    widget = DayInput

    def to_python(self, value: Any) -> datetime.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return parse_day(str(value))
        except DateParseError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
