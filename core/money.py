"""Money, once: the column type, the constants, and how an amount reads.

- **One column type.** ``MoneyField`` is a ``DecimalField`` with the project's precision
  (14 digits, 2 decimals); every money column uses it, and ``MoneyFormField`` every money
  input. ``MONEY_FIELD`` is the output field of sums computed by the database (two more
  digits: a total of many amounts may exceed one column's range).
- **Decimal, never float.** ``to_cents`` brings a database sum back to the cent (SQLite
  sums decimals as floats); ``CENT`` and ``ZERO`` are the usual constants.
- **One formatter.** ``format_money`` writes an amount as its reader does: "1 234,50 €" in
  French (narrow no-break space between thousands, no-break space before the symbol),
  "€1,234.50" in English, the minus sign first in both ("-1 234,50 €", "-€1,234.50").
  Emails, letters, exports and pages (the ``money`` template filter,
  ``core/templatetags/money.py``) all call it, so an amount reads the same everywhere.
  Emails and letters are not rendered in a request, so they pass their reader's language;
  pages use the active one (``format_money_active``). Machine exports (CSV, XLSX, JSON)
  keep plain numbers with a dot.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.db import models
from django.utils import translation

MAX_DIGITS = 14
DECIMAL_PLACES = 2
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The currency amounts are kept in when nothing says otherwise (the ledger's, see README).
DEFAULT_CURRENCY = "EUR"
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
NBSP, NNBSP = "\u00a0", "\u202f"


class MoneyField(models.DecimalField):
    """A money column: ``Decimal`` with 14 digits, 2 of them decimals."""

    description = "Amount of money"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        # The precision is the class's: migrations name the class, not the digits, so a
        # change of precision here shows up as one AlterField per column, as it should.
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_digits") == MAX_DIGITS:
            del kwargs["max_digits"]
        if kwargs.get("decimal_places") == DECIMAL_PLACES:
            del kwargs["decimal_places"]
        return name, path, args, kwargs


class MoneyFormField(forms.DecimalField):
    """A money input with the columns' precision."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


MONEY_FIELD = models.DecimalField(max_digits=MAX_DIGITS + 2, decimal_places=DECIMAL_PLACES)


def to_cents(value) -> Decimal:
    """Quantize a database sum to the cent (SQLite sums decimals as floats); None is 0."""
    return Decimal(value or 0).quantize(CENT)


def format_money(
    amount: Decimal | int | str,
    language: str,
    currency: str = DEFAULT_CURRENCY,
    *,
    places: int = DECIMAL_PLACES,
) -> str:
    """``amount`` as a reader of ``language`` writes it: "-1 234,50 €" in French,
    "-€1,234.50" in English (any other language reads as English). A currency without a
    one-character symbol is written after the amount ("1,234.50 CHF"). ``places=0``
    rounds to whole units (half up), for headline figures."""
    value = Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{abs(value):,.{places}f}"
    sign = "-" if value < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    if language.split("-")[0].lower() == "fr":
        return f"{sign}{text.replace(',', NNBSP).replace('.', ',')}{NBSP}{symbol}"
    if len(symbol) == 1:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text}{NBSP}{symbol}"


def format_money_active(
    amount: Decimal | int | str, currency: str = DEFAULT_CURRENCY, *, places: int = DECIMAL_PLACES
) -> str:
    """``format_money`` in the active language (a page, a message to the user)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return format_money(amount, language, currency, places=places)


def as_decimal(value) -> Decimal | None:
    """``value`` as a finite Decimal, or None when it is not a number (None, "", "abc")."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None
