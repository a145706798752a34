"""The rules that depend on the calendar, checked at whatever moment the clock stands.

Run alone, the suite checks them on an ordinary day; CI runs this module (and every test
marked ``calendar``) at each hard moment of tests/clock.py: the last day of a 30-day
month, 31 December, 1 January, 28 and 29 February and 1 March of a leap year, Easter
Monday, a Saturday, the Sundays of both daylight-saving changes, 23:30 Paris on 31
December and 00:30 Paris on 1 January. Every expectation below is worked out from the
calendar by hand (a table of French public holidays, plain date arithmetic), not by
calling the code under test a second time.
"""

import datetime
import importlib
import io
import itertools
import json
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from core import access
from receivables import kpis
from receivables import tasks as receivables_tasks
from receivables.interest import load_rate_table
from receivables.models import AgedBalanceSnapshot, ReferenceRate
from receivables.selectors import aged_balance
from reminders import tasks as reminders_tasks
from reminders.letters.context import build_letter_context
from reminders.models import Reminder, ScenarioStep
from reminders.run.plan import is_business_day
from tests.clock import PARIS
from tests.factories import make_invoice, make_reminder_customer, make_user
from workplaces.selectors.dashboard import week_start

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

D = datetime.date
DAY = datetime.timedelta(days=1)

#: French public holidays (metropolitan) from 2026 to 2028, by hand: New Year, Easter
#: Monday, 1 and 8 May, Ascension, Whit Monday, 14 July, 15 August, 1 and 11 November,
#: Christmas. Easter Sunday: 5 April 2026, 28 March 2027, 16 April 2028.
FRENCH_HOLIDAYS = {
    *(D(2026, m, d) for m, d in [(1, 1), (4, 6), (5, 1), (5, 8), (5, 14), (5, 25)]),
    *(D(2026, m, d) for m, d in [(7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]),
    *(D(2027, m, d) for m, d in [(1, 1), (3, 29), (5, 1), (5, 6), (5, 8), (5, 17)]),
    *(D(2027, m, d) for m, d in [(7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]),
    *(D(2028, m, d) for m, d in [(1, 1), (4, 17), (5, 1), (5, 8), (5, 25), (6, 5)]),
    *(D(2028, m, d) for m, d in [(7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]),
}


def business(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in FRENCH_HOLIDAYS


def next_business_day_after(day: datetime.date) -> datetime.date:
    day += DAY
    while not business(day):
        day += DAY
    return day


def last_day_of_previous_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1) - DAY


def paris_time(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def finance_user(db):
    return make_user(access.FINANCE, "finance_cal")


# --- "today" is the Paris day -------------------------------------------------------------


def test_today_is_the_paris_day_whatever_utc_says(clock):
    assert timezone.localdate() == clock.today == clock.now.astimezone(PARIS).date()
    assert timezone.localtime().tzinfo.key == "Europe/Paris"


def test_the_daily_run_works_on_the_paris_day(clock, company_profile):
    result = reminders_tasks.run_daily_reminders()
    assert result["date"] == clock.today.isoformat()
    out = io.StringIO()
    call_command("run_reminders", "--dry-run", stdout=out)
    assert out.getvalue().startswith(f"[dry run] {clock.today.isoformat()}:")


def test_the_aged_balance_command_is_as_of_the_paris_day(clock):
    customer = make_reminder_customer("CAL")
    make_invoice(customer, issue_date=clock.today, due_date=clock.today, amount="10.00")
    out = io.StringIO()
    call_command("aged_balance", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    # Issued today: counts only when the balance is as of the Paris day, not the UTC one.
    assert data["as_of"] == clock.today.isoformat()
    assert [row["customer_ref"] for row in data["rows"]] == ["CAL"]


# --- business days and the daily run --------------------------------------------------------


def test_business_days_are_the_french_ones(clock):
    for offset in range(-3, 4):
        day = clock.today + offset * DAY
        assert is_business_day(day) == business(day), day


def test_a_reminder_leaves_on_the_first_business_day_of_its_date(clock, company_profile):
    customer = make_reminder_customer("CAL")
    today = clock.today
    # Step 1 (due date + 1 day) falls due today.
    make_invoice(customer, issue_date=today - 31 * DAY, due_date=today - DAY)
    reminders_tasks.run_daily_reminders()
    assert len(mail.outbox) == (1 if business(today) else 0)
    # The next business day's run, at 07:00 Paris, sends it if today could not.
    following = next_business_day_after(today)
    clock.move_to(paris_time(following, 7))
    result = reminders_tasks.run_daily_reminders()
    assert result["date"] == following.isoformat()
    assert len(mail.outbox) == 1
    sent = Reminder.objects.get(channel=Reminder.Channel.EMAIL, status=Reminder.Status.SENT)
    assert sent.run_date == (today if business(today) else following)
    assert timezone.localdate(sent.sent_at) == sent.run_date


# --- aged balance buckets ------------------------------------------------------------------


BUCKET_OF_DAYS_LATE = {
    -1: "not_due",
    0: "not_due",
    1: "d1_30",
    30: "d1_30",
    31: "d31_60",
    60: "d31_60",
    61: "d61_90",
    90: "d61_90",
    91: "d90_plus",
}


def test_aged_balance_buckets_count_days_late_from_today(clock):
    today = clock.today
    customer = make_reminder_customer("AGED")
    for late, _bucket in BUCKET_OF_DAYS_LATE.items():
        due = today - late * DAY
        make_invoice(
            customer, issue_date=min(due, today) - 10 * DAY, due_date=due, amount=f"{late + 100}"
        )
    expected = dict.fromkeys(["not_due", "d1_30", "d31_60", "d61_90", "d90_plus"], Decimal(0))
    for late, bucket in BUCKET_OF_DAYS_LATE.items():
        expected[bucket] += Decimal(late + 100)
    live = aged_balance(user=None, as_of=today)
    (row,) = live.rows
    assert {b: row[b] for b in expected} == expected
    # The same date read through the historical statement (as if today were tomorrow).
    history = aged_balance(user=None, as_of=today, today=today + DAY)
    assert history.rows == live.rows


# --- month ends and snapshots --------------------------------------------------------------


def test_month_ends_are_the_last_days_of_the_months(clock):
    today = clock.today
    ends = kpis.month_ends(until=today, count=13)
    last = today if (today + DAY).day == 1 else last_day_of_previous_month(today)
    assert ends[-1] == last
    for earlier, later in itertools.pairwise(ends):
        assert (earlier + DAY).day == 1 and (later + DAY).day == 1
        assert later == last_day_of_previous_month(later.replace(day=28) + 10 * DAY)
        assert earlier == last_day_of_previous_month(later.replace(day=1))
    assert ends[0].month == ends[-1].month and ends[0].year == ends[-1].year - 1


def test_the_monthly_snapshot_is_as_of_the_previous_month_end(clock):
    receivables_tasks.take_monthly_snapshot()
    snapshot = AgedBalanceSnapshot.objects.get()
    assert snapshot.as_of == last_day_of_previous_month(clock.today)


def test_the_monthly_schedule_keeps_six_am_paris(clock):
    migration = importlib.import_module("receivables.migrations.0004_monthly_snapshot_schedule")
    migration.create_schedule(django_apps, None)
    schedule = Schedule.objects.get(name="monthly-aged-balance-snapshot")
    first = last_day_of_previous_month(clock.today.replace(day=28) + 10 * DAY) + DAY
    assert schedule.next_run == paris_time(first, 6)
    following = schedule.calculate_next_run(schedule.next_run)
    after = last_day_of_previous_month(first.replace(day=28) + 10 * DAY) + DAY
    assert following == paris_time(after, 6)


def test_the_daily_schedule_runs_at_seven_paris_every_day(clock):
    migration = importlib.import_module("reminders.migrations.0004_daily_schedule")
    migration.create_schedule(django_apps, None)
    schedule = Schedule.objects.get(name="reminders: daily run")
    local = clock.now.astimezone(PARIS)
    first = local.date() if local.hour < 7 else local.date() + DAY
    assert schedule.next_run == paris_time(first, 7)
    run = schedule.next_run
    for n in range(1, 4):  # across the daylight-saving change on those Sundays
        run = schedule.calculate_next_run(run)
        assert run == paris_time(first + n * DAY, 7)


# --- the dashboard's week ------------------------------------------------------------------


def test_the_week_starts_on_monday_at_midnight_in_paris(clock, finance_user):
    from reminders.selectors import sent_since

    start = week_start(clock.today)
    local = start.astimezone(PARIS)
    assert local.weekday() == 0 and local.time() == datetime.time(0, 0)
    assert start <= clock.now < start + datetime.timedelta(days=7)
    assert clock.today - local.date() == datetime.timedelta(days=clock.today.weekday())
    customer = make_reminder_customer("WEEK")
    step = ScenarioStep.objects.get(scenario__is_default=True, position=1)

    def sent(at: datetime.datetime) -> Reminder:
        return Reminder.objects.create(
            customer=customer,
            step=step,
            channel=Reminder.Channel.EMAIL,
            status=Reminder.Status.SENT,
            run_date=timezone.localdate(at),
            sent_at=at,
        )

    this_week = sent(start)
    sent(start - datetime.timedelta(minutes=1))  # Sunday 23:59, last week
    assert list(sent_since(user=finance_user, since=start)) == [this_week]


# --- KPIs: DSO window and forecast horizons ------------------------------------------------


def test_the_dso_window_is_the_ninety_days_ending_today(clock, finance_user):
    today = clock.today
    customer = make_reminder_customer("DSO")
    make_invoice(customer, issue_date=today - 89 * DAY, due_date=today, amount="100.00")
    make_invoice(customer, issue_date=today - 90 * DAY, due_date=today, amount="7.00")
    make_invoice(customer, issue_date=today, due_date=today + 30 * DAY, amount="20.00")
    assert kpis.net_sales(user=finance_user, as_of=today) == Decimal("120.00")


def test_forecast_horizons_are_weeks_from_today(clock, finance_user):
    today = clock.today
    customer = make_reminder_customer("FCST")
    make_invoice(customer, issue_date=today, due_date=today + 28 * DAY, amount="100.00")
    make_invoice(customer, issue_date=today, due_date=today + 29 * DAY, amount="20.00")
    make_invoice(customer, issue_date=today, due_date=today + 84 * DAY, amount="3.00")
    make_invoice(customer, issue_date=today, due_date=today + 85 * DAY, amount="0.50")
    forecast = kpis.collection_forecast(user=finance_user, as_of=today)
    assert [h.amount for h in forecast.horizons] == [
        Decimal("100.00"),
        Decimal("20.00"),
        Decimal("3.00"),
    ]
    assert forecast.later == Decimal("0.50")


# --- the formal notice: its date, its deadline, its interest -------------------------------


@pytest.fixture
def rates_to_date(clock):
    """Test rates for every half-year up to today (the real table is entered by hand),
    each different from the one before."""
    start, rate = D(2026, 7, 1), Decimal("2.00")
    while start <= clock.today:
        ReferenceRate.objects.get_or_create(start_date=start, defaults={"rate": rate})
        rate += Decimal("0.25")
        start = D(start.year + 1, 1, 1) if start.month == 7 else D(start.year, 7, 1)


def test_the_letter_is_dated_today_with_a_deadline_eight_days_later(
    clock, company_profile, rates_to_date
):
    customer = make_reminder_customer("LTR")
    make_invoice(customer, issue_date=clock.today - 70 * DAY, due_date=clock.today - 40 * DAY)
    context = build_letter_context(customer=customer, letter_date=clock.today)
    assert context.deadline == clock.today + 8 * DAY
    day = context.deadline.day
    assert context.deadline_text.startswith("1er\xa0" if day == 1 else f"{day}\xa0")
    assert context.deadline_text.endswith(str(context.deadline.year))


def test_interest_periods_follow_the_half_years(clock, company_profile, rates_to_date):
    today = clock.today
    due = today - 400 * DAY
    customer = make_reminder_customer("INT")
    make_invoice(customer, issue_date=due - 30 * DAY, due_date=due, amount="1000.00")
    context = build_letter_context(customer=customer, letter_date=today)
    (claim,) = context.claim.invoices
    periods = claim.interest.periods
    assert periods[0].start == due + DAY and periods[-1].end == today
    assert sum((p.end - p.start).days + 1 for p in periods) == (today - due).days
    table = load_rate_table()
    for earlier, later in itertools.pairwise(periods):
        assert later.start == earlier.end + DAY
        # Nothing is paid: a new period starts only where a new half-year's rate differs.
        assert (later.start.month, later.start.day) in {(1, 1), (7, 1)}
        assert later.reference_rate != earlier.reference_rate
    for period in periods:
        day = period.start
        while day <= period.end:  # every day of a period bears its half-year's rate
            assert table.ecb_rate_for(day) == period.reference_rate, day
            day = D(day.year, 7, 1) if day.month <= 6 else D(day.year + 1, 1, 1)
