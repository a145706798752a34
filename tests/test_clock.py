"""The suite never reads the real clock: every test starts at the frozen moment that
``--clock`` names (tests/clock.py). These tests fail if the suite is started without it."""

import ast
import datetime
import time
from pathlib import Path

import pytest
from django.utils import timezone

from tests.clock import DEFAULT_MOMENT, HARD_MOMENTS, PARIS, resolve


@pytest.mark.calendar
def test_the_clock_is_frozen(clock, request):
    assert clock is not None, "tests/clock.py is not loaded: the suite reads the real clock"
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None:  # --clock=hard-days: one of the hard moments
        expected = callspec.params["clock"]
    else:
        expected = resolve(request.config.getoption("--clock"))
    # The clock starts at the moment and flows from there: a test lasts seconds.
    assert expected <= timezone.now() < expected + datetime.timedelta(minutes=1)
    assert timezone.localdate() == expected.astimezone(PARIS).date()
    naive_today = datetime.date.today()  # noqa: DTZ011 - the naive read is frozen too
    assert naive_today == expected.astimezone(PARIS).date()


@pytest.mark.clock("2026-11-18T10:00", tick=False)
def test_a_test_can_stop_the_clock():
    first = time.time()
    time.sleep(0.01)
    assert time.time() == first
    assert timezone.now() == DEFAULT_MOMENT


def test_travel_and_shift(clock):
    clock.move_to("2027-01-01T00:30")
    assert timezone.localdate() == datetime.date(2027, 1, 1)
    assert timezone.now().date() == datetime.date(2026, 12, 31)  # UTC is still last year
    clock.shift(hours=1)
    assert timezone.localtime().hour == 1 and clock.today == datetime.date(2027, 1, 1)


@pytest.mark.clock("2028-02-29T10:00")
def test_a_test_can_be_pinned_to_its_day(clock):
    assert timezone.localdate() == datetime.date(2028, 2, 29) == clock.today


def test_hard_moments_are_the_hard_days():
    days = {name: m.astimezone(PARIS) for name, m in HARD_MOMENTS.items()}
    assert days["month-end-30"].date() == datetime.date(2026, 11, 30)
    assert days["saturday"].weekday() == 5
    assert days["dst-spring"].weekday() == days["dst-autumn"].weekday() == 6
    assert days["dst-spring"].utcoffset() == datetime.timedelta(hours=2)  # summer time now
    assert days["dst-autumn"].utcoffset() == datetime.timedelta(hours=1)  # winter time now
    assert days["new-year-eve-2330"].astimezone(datetime.UTC).date() == datetime.date(2026, 12, 31)
    assert days["new-year-0030"].astimezone(datetime.UTC).date() == datetime.date(2026, 12, 31)


def test_a_bad_clock_option_is_a_usage_error():
    with pytest.raises(pytest.UsageError, match="neither a known moment"):
        resolve("tomorrow-ish")


# --- production code reads the local day ---------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
NOT_APPLICATION = {"tests", "benchmarks", "docs", "static", "templates", "locale"}


def application_sources() -> list[Path]:
    """Every Python file of the application: the packages at the top of the repository."""
    return [
        path
        for package in sorted(ROOT.iterdir())
        if (package / "__init__.py").exists() and package.name not in NOT_APPLICATION
        for path in package.rglob("*.py")
    ]


def utc_day_reads(source: str) -> list[int]:
    """Lines that take a date from the UTC clock or a naive one: ``timezone.now().date()``,
    ``datetime.now(tz).date()``, ``utcnow()``, ``date.today()``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, receiver = node.func.attr, node.func.value
        now_then_date = (
            attr == "date"
            and isinstance(receiver, ast.Call)
            and isinstance(receiver.func, ast.Attribute)
            and receiver.func.attr == "now"
        )
        today = attr == "today" and isinstance(receiver, ast.Attribute | ast.Name)
        if now_then_date or today or attr == "utcnow":
            lines.append(node.lineno)
    return lines


def test_application_code_takes_today_from_the_local_date():
    """``timezone.localdate()`` is the only "today": at 00:30 in Paris on 1 January the
    UTC date (``timezone.now().date()``) is still 31 December."""
    sources = application_sources()
    assert len(sources) > 50
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sources
        for line in utc_day_reads(path.read_text())
    ]
    assert offenders == []


def test_the_checker_finds_utc_day_reads():
    assert utc_day_reads("timezone.now().date()\nx = 1\ndatetime.date.today()\n") == [1, 3]
    assert utc_day_reads("datetime.datetime.utcnow()") == [1]
    assert utc_day_reads("timezone.localdate()\ntimezone.localtime().date()") == []
