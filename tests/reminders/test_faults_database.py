"""Fault injection on the database side (marker ``faults``, run by .ci/run with the kill
stage), on PostgreSQL with the real ``run_reminders`` command in subprocesses against a
real SMTP server on loopback:

- **A database restart mid-run.** The shared PostgreSQL server cannot be restarted, so
  what a restart does to a run is done to the run alone: its sessions (and only its: the
  test database, the runs' application name) are ended with ``pg_terminate_backend`` at
  random points while it sends, and the database refuses new connections for a moment
  (``ALLOW_CONNECTIONS false``), as a server that is starting up does. Then the watchdog
  and one normal run.
- **Two clusters on the same schedule.** Two real django-q2 clusters (``qcluster``)
  started at the same moment on the same database, with the daily run and the watchdog
  due, and two ``run_reminders`` started by hand as the schedule fires.

After them every due reminder was received once, or is "unknown" on the worklist (at
most one per interruption: the message between its hand-over and its record); nothing
was received twice; nothing recorded as sent that the server did not receive; every
message the server saw is counted as an attempt on its reminder, and every sent email
has one timeline entry."""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import typing
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Activity
from reminders.models import Reminder, ReminderRun
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders import smtp_sink
from tests.reminders.test_faults import (
    ROOT,
    RUN_APPLICATION_NAME,
    SlowSink,
    _environment,
    _last_business_day,
    _run,
)

pytestmark = [
    pytest.mark.faults,
    pytest.mark.real_clock("run_reminders runs in subprocesses, on the real clock"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MIN_CUSTOMERS = 40
# Enough due emails that each restart lands while some are still to send.
PER_RESTART = 10


def _due_customers(count: int, day: datetime.date) -> None:
    """``count`` customers whose step 1 falls due on ``day``."""
    due = day - datetime.timedelta(days=1)
    for i in range(count):
        customer = make_reminder_customer(f"F{i:03d}")
        make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)


def _terminate_runs() -> int:
    """End the runs' database sessions, as a restarting server does: only the test
    database's, only the runs' (never this test's own session, nor anybody else's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s "
            "AND pid <> pg_backend_pid()",
            [RUN_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def _run_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [RUN_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def _allow_connections(allowed: bool) -> None:
    """Let the test database accept new connections or not (set from the maintenance
    database: PostgreSQL refuses it from a session of the database itself)."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {str(allowed).lower()}")


def _restart_at_a_random_point(process: subprocess.Popen, sink: smtp_sink.Sink, rng) -> str:
    """Mostly right after the server accepted a message of this run (between its 250 and
    its record), else at a random moment after it connected (planning, claiming, the
    first messages); the database then refuses connections for up to two seconds."""
    if rng.random() < 0.75:
        target = len(sink.messages) + rng.randint(1, 6)
        deadline = time.monotonic() + 20
        while len(sink.messages) < target and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.001)
        where = "after a 250"
    else:
        # Once the run is connected: planning, claiming or the first messages.
        deadline = time.monotonic() + 30
        while not _run_sessions() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.6))
        where = "at a random time"
    if process.poll() is not None:
        return "already finished"
    _allow_connections(False)
    try:
        ended = _terminate_runs()
        time.sleep(rng.uniform(0.1, 2.0))
    finally:
        _allow_connections(True)
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # a run that outlives its database is a failure
        process.kill()
        process.communicate()
        raise AssertionError("a run kept going after its database went away") from None
    return where if ended else "before it connected"


def _watchdog(port: int) -> subprocess.CompletedProcess:
    """The watchdog's task, as django-q2 runs it every five minutes."""
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from reminders.tasks import recover_stranded_sends; print(recover_stranded_sends())",
        ],
        cwd=ROOT,
        env=_environment(port),
        capture_output=True,
        timeout=120,
    )


def _check_exactly_once(sink: smtp_sink.Sink, customers: int, interruptions: int) -> dict:
    emails = list(Reminder.objects.filter(channel="email"))
    received = Counter(sink.message_ids)
    attempts = Counter(sink.attempts)
    statuses = Counter(e.status for e in emails)
    # Every due customer has one email, nothing was received twice.
    assert len({e.customer_id for e in emails}) == customers == len(emails)
    assert not received or max(received.values()) == 1, "a message received twice"
    assert set(received) <= {e.message_id for e in emails}
    # Sent, or "unknown" on the worklist (at most one per interruption); nothing left
    # "sending", planned or failed.
    assert set(statuses) <= {"sent", "unknown"}, statuses
    assert statuses["unknown"] <= interruptions
    # None recorded as sent that the server did not receive.
    recorded_not_received = [
        e.pk for e in emails if e.status == "sent" and not received[e.message_id]
    ]
    assert recorded_not_received == []
    # Every attempt is in the reminder's log: each message the server saw was counted on
    # its reminder (its hand-over recorded first), and each sent email has one timeline
    # entry with its Message-ID.
    for e in emails:
        assert attempts[e.message_id] <= e.attempts, (e.pk, attempts[e.message_id], e.attempts)
    timeline = Counter(
        line.removeprefix("Message-ID: ")
        for body in Activity.objects.filter(kind=Activity.Kind.EMAIL).values_list("body", flat=True)
        for line in body.splitlines()
        if line.startswith("Message-ID: ")
    )
    for e in emails:
        assert timeline[e.message_id] == (1 if e.status == "sent" else 0), e.pk
    return {
        "sent": statuses["sent"],
        "unknown": statuses["unknown"],
        "unknown_received": sum(received[e.message_id] for e in emails if e.status == "unknown"),
        "received": sum(received.values()),
    }


def test_database_restarts_mid_run_then_every_reminder_once(request, company_profile, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("fault injection runs on PostgreSQL")
    restarts = max(5, request.config.getoption("--faults") // 2)
    customers = max(MIN_CUSTOMERS, PER_RESTART * restarts)
    rng = random.Random(request.config.getoption("--faults-seed"))
    day = _last_business_day()
    _due_customers(customers, day)
    sink = SlowSink()
    port = smtp_sink.free_port()
    controller = smtp_sink.Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    where: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for _ in range(restarts):
            where[_restart_at_a_random_point(_run(day, port), sink, rng)] += 1
        watchdog = _watchdog(port)
        assert watchdog.returncode == 0, watchdog.stdout + watchdog.stderr
        final = _run(day, port)
        output = final.communicate(timeout=300)[0].decode()
        assert final.returncode == 0, output
        before = len(sink.messages)
        again = _run(day, port)
        again.communicate(timeout=300)
        assert again.returncode == 0 and len(sink.messages) == before, "a further run sent"
    finally:
        controller.stop()
    interrupted = restarts - where["already finished"] - where["before it connected"]
    figures = _check_exactly_once(sink, customers, interrupted)
    with capsys.disabled():
        print(
            f"\ndatabase restarts: {interrupted} of {restarts} runs lost their database "
            f"({dict(where)}), {customers} due emails: {figures['sent']} sent, "
            f"{figures['unknown']} unknown on the worklist ({figures['unknown_received']} of "
            f"them had reached the server), {figures['received']} received, 0 twice, 0 "
            f"recorded as sent without being received, {time.monotonic() - started:.0f} s"
        )


# Each cluster's output, read when it stops (a pipe nobody reads could fill up).
LOGS: dict[int, typing.IO[bytes]] = {}


def _cluster(port: int) -> subprocess.Popen:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _stop)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=_environment(port) | {"Q_WORKERS": "2"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers are stopped with it
    )
    LOGS[process.pid] = log
    return process


def _stop(process: subprocess.Popen) -> str:
    """Stop a cluster as its service manager does (SIGTERM to the cluster), then make
    sure nothing of it is left (its workers are in its process group)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    with LOGS.pop(process.pid) as log:
        log.seek(0)
        return log.read().decode(errors="replace")


def test_two_clusters_on_the_same_schedule_send_each_reminder_once(
    request, company_profile, capsys
):
    if connection.vendor != "postgresql":
        pytest.skip("fault injection runs on PostgreSQL")
    from django_q.models import Schedule, Task

    customers = MIN_CUSTOMERS
    day = _last_business_day()
    _due_customers(customers, day)
    # Both schedules fall due at the clusters' first scheduler pass (30 s after start).
    daily = Schedule.objects.get(func="reminders.tasks.run_daily_reminders")
    watchdog = Schedule.objects.get(func="reminders.tasks.recover_stranded_sends")
    now = timezone.now()
    # The schedule runs today's run; on a weekend or a holiday (nothing to send) it is
    # given the last business day, as a person choosing the date would.
    daily.kwargs = "" if day == timezone.localdate() else f"date={day.isoformat()!r}"
    daily.next_run = now
    daily.save()
    Schedule.objects.filter(pk=watchdog.pk).update(next_run=now)
    sink = SlowSink()
    port = smtp_sink.free_port()
    controller = smtp_sink.Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    started = time.monotonic()
    clusters = [_cluster(port), _cluster(port)]
    by_hand: list[subprocess.Popen] = []
    outputs: list[str] = []
    try:
        deadline = time.monotonic() + 150
        # As soon as a scheduler has fired, two people start the run by hand too.
        while Schedule.objects.get(pk=daily.pk).next_run <= now:
            assert time.monotonic() < deadline, "no scheduler fired"
            assert all(c.poll() is None for c in clusters), "a cluster died"
            time.sleep(0.05)
        by_hand = [_run(day, port), _run(day, port)]
        while Task.objects.filter(func__startswith="reminders.tasks.").count() < 2 or any(
            p.poll() is None for p in by_hand
        ):
            assert time.monotonic() < deadline, "the tasks did not finish"
            time.sleep(0.2)
        for process in by_hand:
            output = process.communicate(timeout=60)[0].decode()
            assert process.returncode == 0, output
    finally:
        for process in by_hand:
            if process.poll() is None:
                process.kill()
                process.communicate()
        outputs = [_stop(c) for c in clusters]
        controller.stop()
    tasks = list(Task.objects.filter(func__startswith="reminders.tasks.").values("func", "success"))
    # One task per schedule, whichever cluster took it, and it succeeded.
    assert Counter(t["func"] for t in tasks) == {
        "reminders.tasks.run_daily_reminders": 1,
        "reminders.tasks.recover_stranded_sends": 1,
    }, outputs
    assert all(t["success"] for t in tasks), outputs
    assert list(ReminderRun.objects.values_list("run_date", flat=True)) == [day]
    figures = _check_exactly_once(sink, customers, interruptions=0)
    assert figures["received"] == customers == figures["sent"]
    with capsys.disabled():
        print(
            f"\ntwo clusters: 2 clusters + 2 runs by hand on one schedule, {customers} due "
            f"emails: {len(tasks)} tasks (one per schedule), {figures['sent']} sent, "
            f"{figures['received']} received, 0 twice, {time.monotonic() - started:.0f} s"
        )
