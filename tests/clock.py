"""The suite's clock: every test runs at a frozen moment in Paris, never at the real now.

A receivables tool lives on dates (due dates, month ends, business days, half-years,
a daily run at 07:00 Paris), so a test that reads the real clock passes on the day it
was written and fails on a month end. This plugin freezes ``timezone.now()``,
``date.today()``, ``datetime.now()`` and ``time.time()`` (time-machine patches them at
the C level, so every thread sees the same moment) for each test. The clock starts at
the chosen moment and then flows at the real pace, so two actions of one test keep their
order (a test lasts seconds: it never crosses into another day unless it travels):

- ``--clock=default`` (the default): :data:`DEFAULT_MOMENT`, an ordinary Wednesday morning.
- ``--clock=NAME`` (a name of :data:`HARD_MOMENTS`) or ``--clock=2028-02-29T10:00``
  (a Paris wall-clock time, or any ISO 8601 moment with its offset): the whole run there.
- ``--clock=hard-days``: every test marked ``calendar`` runs once at each hard moment (the
  date-sensitive subset, run by CI); other tests run at the default moment.
- ``@pytest.mark.clock("2026-03-02T09:00")`` pins one test to a moment whatever the option
  (its data and assertions are written for that day); ``tick=False`` stops the clock there.
- ``@pytest.mark.real_clock(reason=...)`` leaves the clock alone; the reason is required.
- The ``clock`` fixture tells the test its moment and travels: ``clock.today``,
  ``clock.now``, ``clock.move_to(...)``, ``clock.shift(days=1)``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine

PARIS = ZoneInfo("Europe/Paris")


def paris(text: str, *, fold: int = 0) -> datetime.datetime:
    """A moment written as Paris wall-clock time ("2026-12-31T23:30"), or with its offset,
    in UTC: arithmetic on Paris wall-clock datetimes ignores DST (``fold`` picks the second
    02:30 of the night the clocks go back)."""
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS, fold=fold)
    return moment.astimezone(datetime.UTC)


#: An ordinary day: a Wednesday in the middle of a month, mid-morning, not a holiday.
DEFAULT_MOMENT = paris("2026-11-18T10:00")

#: The days a receivables tool gets wrong. Each is a Paris moment; the comment says why.
HARD_MOMENTS: dict[str, datetime.datetime] = {
    # Last day of a 30-day month: "one month ago" and "month end" disagree.
    "month-end-30": paris("2026-11-30T10:00"),
    # Last day of the year: next month is in another year, the half-year changes tomorrow.
    "dec-31": paris("2026-12-31T10:00"),
    # First day of the year, a public holiday: a new half-year ECB rate.
    "jan-1": paris("2027-01-01T10:00"),
    # Leap February: the 28th is not the month end, the 29th is.
    "feb-28-leap": paris("2028-02-28T10:00"),
    "feb-29": paris("2028-02-29T10:00"),
    "mar-1-leap": paris("2028-03-01T10:00"),
    # A public holiday that moves with Easter (not a business day).
    "easter-monday": paris("2027-03-29T10:00"),
    # A Saturday: nothing is sent at the weekend.
    "saturday": paris("2026-12-05T10:00"),
    # The Sundays of the daylight-saving changes, in the hour after the change.
    "dst-spring": paris("2027-03-28T03:30"),
    "dst-autumn": paris("2026-10-25T02:30", fold=1),
    # Late on New Year's Eve in Paris: UTC says 22:30 on the same day.
    "new-year-eve-2330": paris("2026-12-31T23:30"),
    # Just after midnight in Paris: UTC still says 23:30 on 31 December.
    "new-year-0030": paris("2027-01-01T00:30"),
}

HARD_DAYS = "hard-days"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        default="default",
        help=(
            "The frozen moment the tests run at: 'default', one of "
            f"{', '.join(HARD_MOMENTS)}, an ISO date-time (Paris wall clock unless it "
            f"has an offset), or '{HARD_DAYS}' to run the tests marked 'calendar' at "
            "every hard moment."
        ),
    )


def resolve(value: str) -> datetime.datetime:
    """The moment an option value names, or a usage error that lists the names."""
    if value == "default":
        return DEFAULT_MOMENT
    if value in HARD_MOMENTS:
        return HARD_MOMENTS[value]
    try:
        if len(value) == 10:  # a bare date: mid-morning that day
            value += "T10:00"
        return paris(value)
    except ValueError:
        names = ", ".join(["default", HARD_DAYS, *HARD_MOMENTS])
        raise pytest.UsageError(
            f"--clock={value!r} is neither a known moment ({names}) nor an ISO date-time"
        ) from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "calendar: the result depends on the calendar day; CI runs it at every hard moment",
    )
    config.addinivalue_line(
        "markers", "clock(moment, tick=True): run this test from a fixed moment (Paris time)"
    )
    config.addinivalue_line(
        "markers", "real_clock(reason): this test reads the real clock, for the reason given"
    )
    value = config.getoption("--clock")
    if value != HARD_DAYS:
        resolve(value)  # a bad value is a usage error before anything runs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.config.getoption("--clock") != HARD_DAYS:
        return
    definition = metafunc.definition
    if definition.get_closest_marker("calendar") is None:
        return
    if definition.get_closest_marker("clock") or definition.get_closest_marker("real_clock"):
        return  # pinned to its own moment: running it elsewhere proves nothing more
    metafunc.parametrize(
        "clock", list(HARD_MOMENTS.values()), ids=list(HARD_MOMENTS), indirect=True
    )


@dataclasses.dataclass
class Clock:
    """The test's frozen clock: where it stands, and how to travel."""

    traveller: time_machine.Traveller
    now: datetime.datetime

    @property
    def today(self) -> datetime.date:
        return self.now.astimezone(PARIS).date()

    def move_to(self, moment: datetime.datetime | str, *, tick: bool | None = None) -> None:
        """Travel to ``moment`` (a Paris wall-clock string or an aware datetime)."""
        target = paris(moment) if isinstance(moment, str) else moment
        if target.tzinfo is None:
            raise ValueError("travel to an aware datetime (or a Paris wall-clock string)")
        self.traveller.move_to(target.astimezone(PARIS), tick=tick)
        self.now = target.astimezone(datetime.UTC)

    def shift(self, **delta: float) -> None:
        """Move the clock by a timedelta's keywords: ``clock.shift(days=1, hours=2)``."""
        step = datetime.timedelta(**delta)
        self.traveller.shift(step)
        self.now += step


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[Clock | None]:
    """Freezes the clock for every test (see the module's docstring)."""
    real = request.node.get_closest_marker("real_clock")
    if real is not None:
        if not (real.args or real.kwargs.get("reason")):
            pytest.fail("@pytest.mark.real_clock needs a reason: say why the real clock")
        yield None
        return
    tick = True
    pinned = request.node.get_closest_marker("clock")
    if pinned is not None:
        moment = resolve(pinned.args[0]) if pinned.args else DEFAULT_MOMENT
        tick = pinned.kwargs.get("tick", True)
    elif hasattr(request, "param"):
        moment = request.param
    elif request.config.getoption("--clock") == HARD_DAYS:
        moment = DEFAULT_MOMENT  # not marked calendar: its day does not matter
    else:
        moment = resolve(request.config.getoption("--clock"))
    # A Paris destination makes time-machine set TZ too, so naive local reads agree.
    with time_machine.travel(moment.astimezone(PARIS), tick=tick) as traveller:
        yield Clock(traveller=traveller, now=moment)
