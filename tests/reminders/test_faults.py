"""Fault injection (marker ``faults``, run by .ci/run after the main suite): the real
``run_reminders`` command, in subprocesses on PostgreSQL, is killed with SIGKILL N times
(``--faults=N``) at random points against a real SMTP server on loopback, most of them
right after the server accepted a message (the window between the 250 and the record);
then one normal run. After it, every due reminder was received exactly once, or - for at
most one message per kill, caught between its hand-over and the server's answer - is
"unknown" on the worklist and was received at most once; none is recorded as sent that
the server did not receive; a further run sends nothing."""

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
CUSTOMERS = 60
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


def _run(day: datetime.date, port: int) -> subprocess.Popen:
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = os.environ | {
        "DATABASE_URL": url,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "SECRET_KEY": "fault-injection-" + "k" * 40,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_reminders", "--date", day.isoformat()],
        cwd=ROOT,
        env=env,
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
    rng = random.Random(request.config.getoption("--faults-seed"))
    day = _last_business_day()
    due = day - datetime.timedelta(days=1)  # step 1 falls due on ``day``
    for i in range(CUSTOMERS):
        customer = make_reminder_customer(f"F{i:03d}")
        make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)
    sink = SlowSink()
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
    finally:
        controller.stop()
    emails = list(Reminder.objects.filter(channel="email"))
    received = Counter(sink.message_ids)
    statuses = Counter(e.status for e in emails)
    # Every due customer has one email, and nothing was received twice.
    assert len({e.customer_id for e in emails}) == CUSTOMERS
    assert max(received.values()) == 1, "a message received twice"
    assert set(received) <= {e.message_id for e in emails}
    # None recorded as sent that the server did not receive.
    assert all(received[e.message_id] == 1 for e in emails if e.status == "sent")
    # Each email is sent, or unknown (at most one per kill: the one in flight).
    assert set(statuses) <= {"sent", "unknown"}
    assert statuses["unknown"] <= kills
    unknown_received = sum(received[e.message_id] for e in emails if e.status == "unknown")
    with capsys.disabled():
        print(
            f"\nfaults: {kills} SIGKILL ({dict(where)}), {CUSTOMERS} due emails: "
            f"{statuses['sent']} sent, {statuses['unknown']} unknown on the worklist "
            f"({unknown_received} of them had reached the server), "
            f"{sum(received.values())} received, 0 twice, "
            f"{time.monotonic() - started:.0f} s"
        )
