"""Hostile values for every kind of field: what a clumsy user types, what a spreadsheet
exports, what an attacker sends.

- dates from 0001-01-01 to 9999-12-31, as ``YYYY-MM-DD`` and ``DD/MM/YYYY`` (the two
  formats the ledger reads), and dates that are no dates;
- amounts from 0.001 to 10^20, zero and negative, in English and French notation, and
  numbers that are no amounts (NaN, infinity, exponents, 400 digits);
- strings up to 10,000 characters with control characters, NUL bytes, right-to-left
  marks, emoji, and SQL, HTML and spreadsheet-formula payloads.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import strategies as st

FIRST_DAY = datetime.date(1, 1, 1)
LAST_DAY = datetime.date(9999, 12, 31)

PAYLOADS = (
    "'; DROP TABLE receivables_invoice; --",
    "1' OR '1'='1",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}{% debug %}",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\u202egnp.exe",
    "\u200f\u200e\u061c",
    "\ufeff",
    "\x00",
    "a\x00b",
    "\r\n\r\n",
    "\t",
    "💶🧾" * 3,
    "../../../etc/passwd",
    "%s%s%s%n",
    "null",
    "None",
    "",
    " ",
)

# Every character, control characters and surrogate-free unicode included (NUL too).
ANY_CHARACTER = st.characters(codec="utf-8")
ODD_CHARACTER = st.sampled_from(
    [
        "\x00",
        "\x01",
        "\x1b",
        "\x7f",
        "\u202e",
        "\u200f",
        "\u2028",
        "\ufeff",
        "\ufffd",
        "🦄",
        "é",
        ";",
        ",",
        '"',
        "'",
        "\\",
        "<",
        "=",
    ]
)


def hostile_text(max_size: int = 10_000) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(PAYLOADS),
        st.text(ANY_CHARACTER, max_size=60),
        st.text(st.one_of(ANY_CHARACTER, ODD_CHARACTER), max_size=300),
        # Long strings, made of a few repeated pieces (cheap to generate and shrink).
        st.builds(
            lambda piece, n: (piece * n)[:max_size],
            st.sampled_from(["A", "é", "🦄", "\u202e", "x\x00", "=1+1;", "<b>", "9"]),
            st.integers(min_value=min(100, max_size), max_value=max_size),
        ),
    )


def any_date() -> st.SearchStrategy[datetime.date]:
    return st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)


def date_text() -> st.SearchStrategy[str]:
    """A date in either format, year 1 to 9999, or something close to one."""
    return st.one_of(
        any_date().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
        any_date().map(lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}"),
        st.sampled_from(
            [
                "0001-01-01",
                "9999-12-31",
                "31/12/9999",
                "01/01/0001",
                "0000-00-00",
                "2026-02-30",
                "29/02/2027",
                "2026-13-01",
                "10000-01-01",
                "-2026-01-01",
                "2026-1-1",
                "1/1/26",
                "tomorrow",
                "2026-11-18T10:00",
                "2026-11-18\x00",
                "٢٠٢٦-١١-١٨",
            ]
        ),
        hostile_text(40),
    )


def any_amount() -> st.SearchStrategy[Decimal]:
    return st.one_of(
        st.decimals(
            min_value=Decimal("0.001"), max_value=Decimal("1e20"), places=3, allow_nan=False
        ),
        st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("0"), places=2),
        st.sampled_from(
            [
                Decimal("0.001"),
                Decimal("0.005"),
                Decimal("1e20"),
                Decimal("99999999999999999999.99"),
            ]
        ),
    )


def _french(amount: Decimal) -> str:
    text = f"{amount:,f}".replace(",", "\u202f").replace(".", ",")
    return text


def amount_text() -> st.SearchStrategy[str]:
    """An amount in English or French notation, or a number that is no amount."""
    return st.one_of(
        any_amount().map(lambda a: f"{a:f}"),
        any_amount().map(lambda a: f"{a:,f}"),
        any_amount().map(_french),
        any_amount().map(lambda a: _french(a).replace("\u202f", " ")),
        st.sampled_from(
            [
                "NaN",
                "-Infinity",
                "inf",
                "1e400",
                "1E-400",
                "9" * 400,
                "0",
                "-0",
                "0.00",
                "1,2,3",
                "1.2.3",
                "--1",
                "1 000 000,001",
                "€12",
                "12 €",
                "0x10",
            ]
        ),
        hostile_text(40),
    )


def integer_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
        st.sampled_from(["0", "-1", "1", "2", "12", "120", "9" * 30, "1.5", "NaN"]),
        hostile_text(20),
    )
