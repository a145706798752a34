"""Timing a callable: its answer, its database queries, its peak memory, several runs."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.report import Measure

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class QueryCounter:
    """A database execute wrapper that counts the statements (executemany counts one)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _status_kb(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak() -> bool:
    """Reset the process's peak resident size (Linux: ``clear_refs`` 5)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def run_once(fn: Callable[[], Any], *, memory: bool = False) -> tuple[Any, float, int, int | None]:
    """Call ``fn`` once: (its answer, seconds, queries, peak memory in bytes beyond the
    resident size before the call, or None when it cannot be read)."""
    from django.db import connection

    counter = QueryCounter()
    baseline = None
    if memory and _reset_peak():
        baseline = _status_kb("VmRSS")
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        answer = fn()
        elapsed = time.perf_counter() - started
    peak = None
    if baseline is not None:
        hwm = _status_kb("VmHWM")
        peak = max(0, hwm - baseline) * 1024 if hwm is not None else None
    return answer, elapsed, counter.count, peak


def measure(
    fn: Callable[[], Any], *, repeat: int, warmup: bool = True, memory: bool = False
) -> Measure:
    """Run ``fn`` ``repeat`` times (after one untimed warm-up run unless ``warmup`` is
    false). The answer, the query count and the memory are those of the first run."""
    runs = []
    if warmup:
        runs.append(run_once(fn, memory=memory))
    times = []
    for i in range(max(1, repeat)):
        answer, elapsed, queries, peak = run_once(fn, memory=memory and not runs and i == 0)
        times.append(elapsed)
        if not runs:
            runs.append((answer, elapsed, queries, peak))
    answer, _elapsed, queries, peak = runs[0]
    return Measure(times=times, queries=queries, answer=answer, memory=peak)
