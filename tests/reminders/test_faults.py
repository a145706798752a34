"""Fault injection (marker ``faults``, run by .ci/run after the main suite): the real
``run_reminders`` command, in subprocesses on PostgreSQL, is killed with SIGKILL N times
(``--faults=N``) at random points against a real SMTP server on loopback that also
answers 451 or 550 or drops the connection before or after DATA for some recipients;
most kills land right after the server accepted a message (the window between the 250
and the record). Then one normal run, a further one (which sends nothing) and the next
business day's. After them every due reminder was received exactly once, or is failed
for good (550, never received), or "unknown" on the worklist and received at most once
(dropped after DATA, or - at most one per kill - caught between its hand-over and the
server's answer); none is recorded as sent that the server did not receive."""

from __future__ import annotations

import datetime
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from reminders.models import Reminder
from reminders.run import plan as planner
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders import smtp_sink

ROOT = Path(__file__).resolve().parents[2]
# Enough due emails that every kill lands while some are still to send.
PER_KILL = 6
MIN_CUSTOMERS = 60
pytestmark = [
    pytest.mark.faults,
    pytest.mark.real_clock("run_reminders runs in subprocesses, on the real clock"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class SlowSink(smtp_sink.Sink):
    """Takes a few milliseconds per message, as a real server does, so kills land while
    a batch is being sent."""

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def _last_business_day() -> datetime.date:
    day = timezone.localdate()
    while not planner.is_business_day(day):
        day -= datetime.timedelta(days=1)
    return day


def _next_business_day(day: datetime.date) -> datetime.date:
    day += datetime.timedelta(days=1)
    while not planner.is_business_day(day):
        day += datetime.timedelta(days=1)
    return day


# The runs' database sessions carry this name (libpq's PGAPPNAME), so a test can end
# them, and only them (tests/reminders/test_faults_database.py).
RUN_APPLICATION_NAME = "relance-fault-run"


def _database_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def _environment(port: int) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "SECRET_KEY": "fault-injection-" + "k" * 40,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PGAPPNAME": RUN_APPLICATION_NAME,
    }


def _run(day: datetime.date, port: int) -> subprocess.Popen:
    # --force: the next business day's run is dated after today (run_reminders refuses
    # a future date without it).
    extra = ["--force"] if day > timezone.localdate() else []
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_reminders", "--date", day.isoformat(), *extra],
        cwd=ROOT,
        env=_environment(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _kill_at_a_random_point(process: subprocess.Popen, sink: smtp_sink.Sink, rng) -> str:
    """Mostly right after the server accepted the k-th message of this run (the window
    between the 250 and its record), else after a random delay (start-up, planning)."""
    if rng.random() < 0.75:
        target = len(sink.messages) + rng.randint(1, 8)
        deadline = time.monotonic() + 20
        while len(sink.messages) < target and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.001)
        where = "after a 250"
    else:
        time.sleep(rng.uniform(0.2, 3.0))
        where = "at a random time"
    if process.poll() is not None:
        return "already finished"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return where


def test_kill_9_at_random_points_then_every_reminder_once(request, company_profile, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("fault injection runs on PostgreSQL")
    kills = request.config.getoption("--faults")
    customers = max(MIN_CUSTOMERS, PER_KILL * kills)
    rng = random.Random(request.config.getoption("--faults-seed"))
    day = _last_business_day()
    due = day - datetime.timedelta(days=1)  # step 1 falls due on ``day``
    sink = SlowSink()
    refused: set[int] = set()
    dropped_after_data: set[int] = set()
    # The server also answers 451 or drops the connection before DATA (retried the next
    # day), answers 550 (never retried), or drops it after DATA (unknown, never re-sent).
    faults = [smtp_sink.ACCEPT] * 16 + [
        smtp_sink.TEMPORARY,
        smtp_sink.DROP_BEFORE_DATA,
        smtp_sink.PERMANENT,
        smtp_sink.DROP_AFTER_DATA,
    ]
    for i in range(customers):
        customer = make_reminder_customer(f"F{i:03d}")
        make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)
        fault = rng.choice(faults)
        if fault != smtp_sink.ACCEPT:
            sink.modes[f"f{i:03d}@client.example"] = fault
        if fault == smtp_sink.PERMANENT:
            refused.add(customer.pk)
        if fault == smtp_sink.DROP_AFTER_DATA:
            dropped_after_data.add(customer.pk)
    port = smtp_sink.free_port()
    controller = smtp_sink.Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    where: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for _ in range(kills):
            where[_kill_at_a_random_point(_run(day, port), sink, rng)] += 1
        final = _run(day, port)
        output = final.communicate(timeout=300)[0].decode()
        assert final.returncode == 0, output
        before = len(sink.messages)
        again = _run(day, port)
        assert again.communicate(timeout=300)[0] is not None and again.returncode == 0
        assert len(sink.messages) == before, "a further run sent nothing"
        # The next business day the temporary refusals are over: they are retried.
        for address, mode in list(sink.modes.items()):
            if mode in (smtp_sink.TEMPORARY, smtp_sink.DROP_BEFORE_DATA):
                del sink.modes[address]
        next_day = _run(_next_business_day(day), port)
        output = next_day.communicate(timeout=300)[0].decode()
        assert next_day.returncode == 0, output
    finally:
        controller.stop()
    emails = list(Reminder.objects.filter(channel="email"))
    received = Counter(sink.message_ids)
    statuses = Counter(e.status for e in emails)
    # Every due customer has one email, and nothing was received twice.
    assert len({e.customer_id for e in emails}) == customers == len(emails)
    assert max(received.values()) == 1, "a message received twice"
    assert set(received) <= {e.message_id for e in emails}
    # None recorded as sent that the server did not receive.
    assert all(received[e.message_id] == 1 for e in emails if e.status == "sent")
    # A permanent refusal is failed, not retried, never received.
    for e in emails:
        if e.customer_id in refused:
            assert e.status == "failed" and e.next_attempt_at is None and "550" in e.last_error
            assert received[e.message_id] == 0
    # Lost after DATA: unknown, never re-sent.
    for e in emails:
        if e.customer_id in dropped_after_data:
            assert e.status == "unknown" and received[e.message_id] <= 1
    # Every other email is sent, or unknown (at most one per kill: the one in flight).
    others = Counter(e.status for e in emails if e.customer_id not in refused | dropped_after_data)
    assert set(others) <= {"sent", "unknown"}
    assert others["unknown"] <= kills
    unknown_received = sum(received[e.message_id] for e in emails if e.status == "unknown")
    with capsys.disabled():
        print(
            f"\nfaults: {kills} SIGKILL ({dict(where)}), {customers} due emails "
            f"({len(refused)} refused with 550, {len(dropped_after_data)} dropped after "
            f"DATA, the others accepted at last): "
            f"{statuses['sent']} sent, {statuses['failed']} failed, "
            f"{statuses['unknown']} unknown on the worklist "
            f"({unknown_received} of them had reached the server), "
            f"{sum(received.values())} received, 0 twice, "
            f"{time.monotonic() - started:.0f} s"
        )
