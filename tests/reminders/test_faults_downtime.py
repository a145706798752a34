"""Three days of downtime: the worker (django-q2 cluster, its scheduler with it) is down
from Friday 5 June 2026 06:00 to Tuesday 9 June 10:00 (Paris). Four weeks of daily runs
go through the real path: the real ``Schedule`` rows of the migrations, django-q2's own
scheduler pass (``django_q.scheduler.scheduler``, which the cluster calls about every 30
seconds) and the task it creates, on a frozen clock that travels day by day.

After the restart: one run, dated Tuesday (never Friday, nor Monday); each customer's
steps spaced by the real days between the emails as they were received (the step that
fell due during the outage leaves on Tuesday, the next one 7 days after Tuesday); no
step twice, no two emails to one customer on one day; the schedule's next run is
Wednesday 07:00. With ``catch_up`` off (the settings) the outage gives one task; with it
on, django-q2 would replay Friday, Saturday, Sunday and Monday in a burst: the task
still runs Tuesday's run, so even then nothing is sent twice (defence in depth)."""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from reminders.models import Reminder, ReminderRun
from tests.clock import paris
from tests.factories import make_invoice, make_reminder_customer

D = datetime.date
FIRST_DAY = D(2026, 5, 28)  # Thursday; no French holiday until July
LAST_DAY = D(2026, 6, 23)  # Tuesday
DOWN_FROM = paris("2026-06-05T06:00")  # Friday
BACK_AT = paris("2026-06-09T10:00")  # Tuesday
TUESDAY = D(2026, 6, 9)
DAILY = "reminders.tasks.run_daily_reminders"

# Due dates, and the days each customer is expected to receive steps 1, 2 and 3
# (offsets +1, +8, +15 days after the due date, and at least 7 days between two steps as
# the customer received them).
CUSTOMERS = {
    # Step 1 fell due during the outage (Friday): Tuesday, then Tuesday + 7, + 14.
    "A": (D(2026, 6, 4), [D(2026, 6, 9), D(2026, 6, 16), D(2026, 6, 23)]),
    # Step 2 fell due on Friday: Tuesday; step 3 seven days after Tuesday.
    "B": (D(2026, 5, 28), [D(2026, 5, 29), D(2026, 6, 9), D(2026, 6, 16)]),
    # Step 1 due on a Sunday (sent Monday); step 2 due on the outage's Monday.
    "C": (D(2026, 5, 30), [D(2026, 6, 1), D(2026, 6, 9), D(2026, 6, 16)]),
    # Step 1 due on the outage's Saturday.
    "D": (D(2026, 6, 5), [D(2026, 6, 9), D(2026, 6, 16), D(2026, 6, 23)]),
    # Step 2 due on Tuesday itself: on time.
    "E": (D(2026, 6, 1), [D(2026, 6, 2), D(2026, 6, 9), D(2026, 6, 16)]),
}

pytestmark = pytest.mark.django_db


def _days():
    day = FIRST_DAY
    while day <= LAST_DAY:
        yield day
        day += datetime.timedelta(days=1)


def _tick(clock, moment: datetime.datetime) -> None:
    """One pass of django-q2's scheduler at ``moment`` (in sync mode under pytest, the
    task it creates runs at once, through django-q2's worker and monitor)."""
    from django_q.scheduler import scheduler

    clock.move_to(moment)
    scheduler()


@pytest.mark.clock("2026-05-28T06:00")
@pytest.mark.parametrize("catch_up", [False, True], ids=["catch-up-off", "catch-up-on"])
def test_three_days_of_downtime_one_run_today_steps_spaced(
    clock, company_profile, monkeypatch, catch_up
):
    from django_q.conf import Conf
    from django_q.models import Schedule, Task

    assert settings.Q_CLUSTER["catch_up"] is False  # what production runs
    monkeypatch.setattr(Conf, "CATCH_UP", catch_up)
    customers = {}
    for ref, (due, _expected) in CUSTOMERS.items():
        customers[ref] = make_reminder_customer(f"DOWN{ref}")
        make_invoice(customers[ref], issue_date=due - datetime.timedelta(days=30), due_date=due)
    daily = Schedule.objects.get(func=DAILY)
    assert (daily.schedule_type, daily.repeats) == (Schedule.DAILY, -1)
    first_run = paris(f"{FIRST_DAY.isoformat()}T07:00")
    Schedule.objects.filter(pk=daily.pk).update(next_run=first_run)
    Schedule.objects.exclude(pk=daily.pk).update(next_run=first_run)  # the watchdog
    mail.outbox = []
    restart_ticks = 5  # the cluster's scheduler passes in the first 2 minutes back
    for day in _days():
        seven = paris(f"{day.isoformat()}T07:00:01")
        if DOWN_FROM <= seven < BACK_AT:
            if day == TUESDAY:
                for i in range(restart_ticks):
                    _tick(clock, BACK_AT + datetime.timedelta(seconds=30 * i))
                daily.refresh_from_db()
                # The next run is Wednesday's, whatever was missed.
                assert daily.next_run == paris("2026-06-10T07:00")
            continue
        _tick(clock, seven)
        _tick(clock, seven + datetime.timedelta(seconds=30))  # a later pass: nothing
    up_days = [d for d in _days() if not (D(2026, 6, 5) <= d <= D(2026, 6, 8))]
    # One run per day the worker was up, Tuesday's dated Tuesday: none for the days
    # missed (Friday to Monday).
    assert sorted(ReminderRun.objects.values_list("run_date", flat=True)) == up_days
    tasks = list(Task.objects.filter(func=DAILY).order_by("started"))
    tuesday_tasks = [t for t in tasks if timezone.localdate(t.started) == TUESDAY]
    assert all(t.success for t in tasks)
    assert {t.result["date"] for t in tuesday_tasks} == {TUESDAY.isoformat()}
    if catch_up:
        # The burst django-q2 would replay: Friday, Saturday, Sunday, Monday, Tuesday.
        assert len(tuesday_tasks) == 5
    else:
        # One task, for the missed Friday 07:00, running Tuesday's run.
        assert len(tuesday_tasks) == 1
        assert tuesday_tasks[0].kwargs["scheduled_for"] == paris("2026-06-05T07:00").isoformat()
    assert len(tasks) == len(up_days) + len(tuesday_tasks) - 1
    # Each customer received steps 1, 2, 3 on the expected days: spaced by the days as
    # received, nothing twice, never two emails on one day.
    received: dict[str, list[tuple[datetime.date, int]]] = defaultdict(list)
    for email in Reminder.objects.filter(channel="email").select_related("step", "customer"):
        assert email.status == "sent"
        assert email.run_date == timezone.localdate(email.sent_at)
        ref = email.customer.customer_ref.removeprefix("DOWN")
        received[ref].append((email.run_date, email.step.position))
    for ref, (_due, expected) in CUSTOMERS.items():
        assert sorted(received[ref]) == list(zip(expected, [1, 2, 3], strict=True)), ref
        days = [day for day, _step in sorted(received[ref])]
        assert all(b - a >= datetime.timedelta(days=7) for a, b in itertools.pairwise(days))
    assert len(mail.outbox) == 3 * len(CUSTOMERS)
    assert len({m.message()["Message-ID"] for m in mail.outbox}) == len(mail.outbox)
