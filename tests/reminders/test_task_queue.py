"""The django-q2 settings the daily run relies on (config/settings.py, Q_CLUSTER), and
the schedules: a killed task is handed out again only after it would have timed out, a
bounded number of times; no burst replay after an outage; workers are recycled; a
watchdog settles stranded sends every few minutes."""

import pytest
from django.conf import settings

MARGIN = 60  # seconds between a task's timeout and its redelivery


def test_a_task_is_retried_only_after_its_timeout_with_a_margin():
    q = settings.Q_CLUSTER
    assert q["timeout"] > 0
    assert q["retry"] >= q["timeout"] + MARGIN


def test_attempts_are_bounded():
    assert 1 <= settings.Q_CLUSTER["max_attempts"] <= 5


def test_no_burst_replay_after_an_outage():
    assert settings.Q_CLUSTER["catch_up"] is False


def test_workers_are_recycled():
    q = settings.Q_CLUSTER
    assert 0 < q["recycle"] <= 1000
    assert 0 < q["max_rss"] <= 2_000_000  # KiB


def test_the_run_fits_in_a_task_timeout():
    """The daily run of the benchmark ledger takes minutes, far below the timeout; the
    SMTP timeout of one message is far below it too."""
    assert settings.Q_CLUSTER["timeout"] >= 10 * 60


@pytest.mark.django_db
def test_the_watchdog_runs_every_few_minutes():
    from django_q.models import Schedule

    watchdog = Schedule.objects.get(func="reminders.tasks.recover_stranded_sends")
    assert watchdog.schedule_type == Schedule.MINUTES and watchdog.minutes <= 10
    assert watchdog.repeats == -1
    daily = Schedule.objects.get(func="reminders.tasks.run_daily_reminders")
    assert daily.schedule_type == Schedule.DAILY and daily.repeats == -1
