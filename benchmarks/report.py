"""The benchmark's results: each hot path beside its floor, the table, the JSON, and the
two checks ``--quick`` fails on (an answer differing from its floor's, a query count
growing with the data). Timings are printed, never asserted."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Measure:
    """One side of a comparison: the timings of its runs (seconds), the database queries
    of one run, the answer it gave (compared with the other side's) and the peak memory
    of one run beyond what the process held before it (bytes), when measured."""

    times: list[float]
    queries: int | None = None
    answer: Any = None
    memory: int | None = None
    # A p95 measured elsewhere (Locust's, over many requests), instead of the runs'.
    p95_value: float | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def p95(self) -> float | None:
        if self.p95_value is not None:
            return self.p95_value
        return percentile(self.times, 95) if self.times else None


@dataclass
class Row:
    """A hot path and its floor, measured in the same run on the same data."""

    path: str
    subject: Measure
    floor: Measure | None = None
    # The query count of the same path on a smaller data set (--quick), if measured.
    queries_small: int | None = None
    note: str = ""
    # Failed requests or messages (the load test): a failure of the run.
    errors: int = 0
    # Extra figures printed under the table (requests per second, errors…).
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return ratio(self.subject.median, self.floor.median if self.floor else None)

    @property
    def same_answer(self) -> bool | None:
        """Whether the path and its floor gave the same answer; None without a floor."""
        if self.floor is None:
            return None
        return same_answer(self.subject.answer, self.floor.answer)

    @property
    def queries_grew(self) -> bool:
        return (
            self.queries_small is not None
            and self.subject.queries is not None
            and self.subject.queries > self.queries_small
        )

    def as_dict(self) -> dict[str, Any]:
        def side(m: Measure | None) -> dict[str, Any] | None:
            if m is None:
                return None
            return {
                "median_s": m.median,
                "p95_s": m.p95,
                "runs": len(m.times),
                "queries": m.queries,
                "memory_bytes": m.memory,
            }

        return {
            "path": self.path,
            "subject": side(self.subject),
            "floor": side(self.floor),
            "ratio": self.ratio,
            "same_answer": self.same_answer,
            "queries_small": self.queries_small,
            "note": self.note,
            "errors": self.errors,
            "figures": self.figures,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (of 5 runs, the p95 is the slowest)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(subject: float | None, floor: float | None) -> float | None:
    """How many times the floor the path takes; None when either is missing or the floor
    took no measurable time."""
    if subject is None or floor is None or floor <= 0:
        return None
    return subject / floor


def same_answer(a: Any, b: Any) -> bool:
    """Equal answers, amounts compared to the cent whatever their type (a Decimal from
    the ORM, a string or float from hand-written SQL), containers element by element."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_answer(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_answer(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_amount(a) and _is_amount(b):
        return _cents(a) == _cents(b)
    return a == b


def _is_amount(value: Any) -> bool:
    return isinstance(value, Decimal | float | int) and not isinstance(value, bool)


def _cents(value: Decimal | float | int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def problems(rows: Iterable[Row]) -> list[str]:
    """What makes ``--quick`` fail: an answer that differs from its floor's, a query
    count that grows with the data."""
    found = []
    for row in rows:
        if row.same_answer is False:
            floor = row.floor.answer if row.floor else None
            found.append(
                f"{row.path}: the answer differs from its floor's "
                f"({_short(row.subject.answer)} against {_short(floor)})"
            )
        if row.errors:
            found.append(f"{row.path}: {row.errors} errors")
        if row.queries_grew:
            found.append(
                f"{row.path}: {row.subject.queries} queries on the larger data set against "
                f"{row.queries_small} on the smaller one: the query count grows with the data"
            )
    return found


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def format_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1_000_000:.1f} MB"


COLUMNS = ("path", "median", "p95", "floor median", "ratio", "queries", "same answer", "memory")


def table_rows(rows: Iterable[Row]) -> list[tuple[str, ...]]:
    out = []
    for row in rows:
        r = row.ratio
        queries = "-" if row.subject.queries is None else str(row.subject.queries)
        if row.queries_small is not None:
            queries += f" ({row.queries_small} small)"
        answer = {None: "-", True: "yes", False: "NO"}[row.same_answer]
        memory = format_bytes(row.subject.memory)
        if row.floor is not None and row.floor.memory is not None:
            memory += f" / {format_bytes(row.floor.memory)}"
        out.append(
            (
                row.path,
                format_seconds(row.subject.median),
                format_seconds(row.subject.p95),
                format_seconds(row.floor.median if row.floor else None),
                "-" if r is None else f"{r:.1f}x",
                queries,
                answer,
                memory,
            )
        )
    return out


def render_line(row: Row) -> str:
    """One row as a line of text, printed as soon as it is measured."""
    cells = table_rows([row])[0]
    return "; ".join(f"{c} {v}" for c, v in zip(COLUMNS[1:], cells[1:], strict=True))


def failed_row(path: str, exc: BaseException) -> Row:
    """A path that could not be measured: an error of the run, the others go on."""
    return Row(path, Measure(times=[]), note=f"failed: {type(exc).__name__}: {exc}", errors=1)


def render_table(rows: Sequence[Row]) -> str:
    """The table, as Markdown (readable in a terminal, pasteable in the README)."""
    body = table_rows(rows)
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(COLUMNS)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)) + " |",
        "| " + " | ".join("-" * w for w in widths) + " |",
    ]
    for r in body:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    notes = [f"- {row.path}: {row.note}" for row in rows if row.note]
    notes += [
        f"- {row.path}: " + ", ".join(f"{k} {v}" for k, v in row.figures.items())
        for row in rows
        if row.figures
    ]
    return "\n".join(lines + (["", *notes] if notes else []))


def write_json(path: str, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"meta": meta, "rows": [r.as_dict() for r in rows]}, out, indent=2, default=str)
