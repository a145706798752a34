"""A sender whose database session was replaced mid-batch (the server restarted, Django
opened a new connection) no longer holds its advisory lock, so the watchdog rightly takes
its claims back and has them sent again. The old sender must then stop before DATA:
otherwise each message would leave twice (found by test_faults_database.py's restarts)."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from reminders import services
from reminders.models import Reminder
from reminders.run import claim, record, send
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders import smtp_sink

D = datetime.date
DAY = D(2026, 4, 2)  # Thursday: step 1 of invoices due 1 April

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def sink(settings):
    server, controller = smtp_sink.start(settings)
    yield server
    controller.stop()


def test_a_sender_whose_session_was_replaced_stops_before_data(sink, company_profile, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    for ref in ["R0", "R1", "R2"]:
        customer = make_reminder_customer(ref)
        make_invoice(customer, issue_date=D(2026, 3, 1), due_date=D(2026, 4, 1))
    real = record.record_handover
    recovered: list[tuple[int, int]] = []

    def after_a_restart(reminder_id: int, *, token: int) -> None:
        if not recovered:
            # The session ends (its lock with it); the next query opens a new one, and
            # the watchdog, seeing the lock free, takes the batch back.
            connection.close()
            recovered.append(claim.recover_stranded(now=timezone.now()))
        real(reminder_id, token=token)

    monkeypatch.setattr(send, "record_handover", after_a_restart)
    with pytest.raises(record.ClaimLost):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    assert recovered == [(3, 0)]  # all three due again, none handed over
    assert sink.attempts == [] and sink.messages == []
    # The next run (or the watchdog) sends each of them, once.
    result = services.reminders_run(run_date=DAY)
    assert result.sent == 3
    assert set(Reminder.objects.filter(channel="email").values_list("status", flat=True)) == {
        "sent"
    }
    assert sorted(sink.message_ids) == sorted(set(sink.message_ids)) and len(sink.messages) == 3
