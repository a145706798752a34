"""Cell parsing for imports: dates and amounts as French and English files write them.

Every parser takes the raw cell (text from a CSV, or the Python value openpyxl gives for
an XLSX cell) and returns a clean value or raises :class:`CellError` with a message
meant for the user. Amounts become ``Decimal`` with two places and are never rounded
silently: money read wrong is worse than a file refused.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from core.dates import DateParseError, parse_day
from core.money import CENT, DECIMAL_PLACES, MAX_DIGITS

# Spaces used as thousands separators: plain, no-break (U+00A0), narrow no-break
# (U+202F, what French locales produce) and thin (U+2009).
_GROUP_SPACES = " \u00a0\u202f\u2009"
# Integer part: plain digits, or 1-3 digits then groups of 3 separated by one space.
_AMOUNT = re.compile(r"^(?P<sign>[+-]?)(?P<int>\d+|\d{1,3}(?: \d{3})+)(?:[.,](?P<dec>\d+))?$")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_SPACES_DASHES = re.compile(r"[\s\-]+")
# Money columns store 14 digits with 2 decimals.
MAX_INTEGER_DIGITS = MAX_DIGITS - DECIMAL_PLACES


class CellError(ValueError):
    """A cell value that cannot be used; the message is shown to the user."""


def cell_text(value: object) -> str:
    """The text of a cell, stripped. XLSX numbers that are whole (an invoice number typed
    as 1001 comes back as 1001 or 1001.0) print without a decimal part."""
    if type(value) is str:  # a CSV's every cell: first, as the cheapest
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def remembered[T](parser: Callable[[object], T]) -> Callable[[object], T]:
    """``parser`` remembering what it made of each text cell, for a column whose values
    repeat (the days of a file): parsed once each. A cell it refuses raises each time."""
    known: dict[str, T] = {}

    def parse(value: object) -> T:
        if type(value) is not str:
            return parser(value)
        if value not in known:
            known[value] = parser(value)
        return known[value]

    return parse


def parse_date(value: object) -> datetime.date:
    """A date written ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (:func:`core.dates.parse_day`, the
    project's one reading of a typed date), or a real XLSX date cell."""
    if isinstance(value, datetime.datetime):
        if value.time() != datetime.time(0, 0):
            raise CellError(
                _("%(value)s has a time of day; expected a date.")
                % {"value": value.isoformat(sep=" ")}
            )
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(
            _("%(value)s is a number, not a date; write YYYY-MM-DD or DD/MM/YYYY.")
            % {"value": cell_text(value)}
        )
    try:
        return parse_day(cell_text(value))
    except DateParseError as error:
        raise CellError(str(error)) from None


def _float_to_decimal(value: float) -> Decimal:
    """An XLSX number as Decimal, through its shortest repr (the digits the file holds),
    never through binary float arithmetic. A value a hair away from whole cents
    (1234.5600000000001, a spreadsheet formula's artefact) is taken as those cents."""
    if value != value or value in (float("inf"), float("-inf")):
        raise CellError(_("%(value)s is not an amount.") % {"value": repr(value)})
    exact = Decimal(repr(value))
    cents = exact.quantize(CENT)
    if abs(exact - cents) < Decimal("0.000001"):
        return cents
    return exact


def parse_amount(value: object) -> Decimal:
    """An amount such as ``1234.56``, ``1234,56`` or ``1 234,56`` (spaces, no-break or
    narrow no-break spaces between thousands), as a Decimal with two places.

    Forms mixing a comma and a dot (``1,234.56``, ``1.234,56``) are refused as
    ambiguous, and more than two decimals is an error rather than a rounding. May be
    negative: callers decide whether that is allowed."""
    if isinstance(value, bool):
        raise CellError(_("%(value)s is not an amount.") % {"value": value})
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = _float_to_decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        text = cell_text(value)
        compact = text
        for space in _GROUP_SPACES:
            compact = compact.replace(space, " ")
        compact = compact.replace("- ", "-").replace("+ ", "+")
        match = _AMOUNT.match(compact)
        if not match:
            raise CellError(
                _("%(value)s is not a valid amount; write 1234.56, 1234,56 or 1 234,56.")
                % {"value": text}
            )
        digits = match["int"].replace(" ", "")
        decimals = match["dec"] or "0"
        try:
            number = Decimal(f"{match['sign']}{digits}.{decimals}")
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
            raise CellError(_("%(value)s is not a valid amount.") % {"value": text}) from exc
    if not number.is_finite():
        raise CellError(_("%(value)s is not an amount.") % {"value": cell_text(value)})
    if abs(number) >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise CellError(_("%(value)s is too large an amount.") % {"value": cell_text(value)})
    if number != number.quantize(CENT, rounding=ROUND_DOWN):
        raise CellError(_("%(value)s has more than two decimals.") % {"value": cell_text(value)})
    return number.quantize(CENT)


def parse_currency(value: object, default: str = "EUR") -> str:
    """A three-letter currency code (ISO 4217 form), upper-cased; empty means ``default``."""
    text = cell_text(value)
    if not text:
        return default
    if not _CURRENCY.fullmatch(text):
        raise CellError(
            _("%(value)s is not a currency code; write three letters such as EUR.")
            % {"value": text}
        )
    return text.upper()


def fold(text: str) -> str:
    """Lower-case ``text`` without accents, with spaces and dashes as underscores, so
    ``Prélèvement`` and ``prelevement`` or ``direct debit`` compare equal."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES_DASHES.sub("_", plain)
