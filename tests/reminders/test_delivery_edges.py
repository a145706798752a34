"""Exactly once at the edges, against a real SMTP server on loopback (tests/reminders/
smtp_sink.py): a 4xx is retried, a 5xx is not and waits on the worklist with the
server's answer, a drop before DATA is retried, a drop after DATA is "unknown" and never
re-sent; a sender that dies mid-batch is recovered by the next run or the watchdog at
once (no 30-minute wait): what left stays sent, what never left is sent again, only what
was handed over without an answer goes to the worklist."""

import datetime

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from customers.models import Activity
from reminders import selectors, services
from reminders.models import Reminder
from reminders.run import claim
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders import smtp_sink

D = datetime.date
DAY = D(2026, 4, 2)  # Thursday: step 1 of invoices due 1 April
NEXT_DAY = D(2026, 4, 3)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(settings):
    server, controller = smtp_sink.start(settings)
    yield server
    controller.stop()


def _customers(refs):
    customers = {}
    for ref in refs:
        customer = make_reminder_customer(ref)
        make_invoice(customer, issue_date=D(2026, 3, 1), due_date=D(2026, 4, 1))
        customers[ref] = customer
    return customers


def _address(ref: str) -> str:
    return f"{ref.lower()}@client.example"


def _email(customer) -> Reminder:
    return Reminder.objects.get(channel="email", customer=customer)


def test_each_answer_of_the_server_ends_as_it_should(sink, company_profile, finance_user, client):
    modes = {
        "OK": smtp_sink.ACCEPT,
        "T4": smtp_sink.TEMPORARY,
        "P5": smtp_sink.PERMANENT,
        "PD": smtp_sink.PERMANENT_DATA,
        "DB": smtp_sink.DROP_BEFORE_DATA,
        "DA": smtp_sink.DROP_AFTER_DATA,
        "OK2": smtp_sink.ACCEPT,  # after the drops: the connection was reopened
    }
    customers = _customers(modes)
    sink.modes = {_address(ref): mode for ref, mode in modes.items()}
    result = services.reminders_run(run_date=DAY)
    assert (result.sent, result.failed, result.unknown) == (2, 4, 1)
    email = {ref: _email(c) for ref, c in customers.items()}
    assert {email["OK"].status, email["OK2"].status} == {"sent"}
    # Temporary: retried later, with the server's answer.
    for ref, words in [("T4", "451"), ("DB", "SMTPServerDisconnected")]:
        assert email[ref].status == "failed" and email[ref].next_attempt_at is not None
        assert words in email[ref].last_error
    # Permanent: not retried, on the worklist with the server's answer.
    for ref, code in [("P5", "550"), ("PD", "554")]:
        assert email[ref].status == "failed" and email[ref].next_attempt_at is None
        assert code in email[ref].last_error and "not retried" in email[ref].last_error
    # Lost after DATA: the server stored it; unknown, on the worklist, never re-sent.
    assert email["DA"].status == "unknown" and email["DA"].handed_at is not None
    to_check = set(selectors.sends_to_check(user=finance_user))
    assert {email[r] for r in ("T4", "P5", "PD", "DB", "DA")} == to_check
    # The next day, with a server that accepts everything: only the temporary ones go.
    sink.modes = {}
    services.reminders_run(run_date=NEXT_DAY)
    for ref in modes:
        email[ref].refresh_from_db()
    assert [email[r].status for r in modes] == [
        "sent", "sent", "failed", "failed", "sent", "unknown", "sent",
    ]  # fmt: skip
    received = sink.message_ids
    assert sorted(received) == sorted(
        email[r].message_id for r in ("OK", "OK2", "DA", "T4", "DB")
    ), "each reminder received exactly once (the one lost after DATA included)"
    assert Activity.objects.filter(kind="email").count() == 4  # the recorded sends
    # The permanent refusal and the unknown one wait for a person.
    assert set(selectors.sends_to_check(user=finance_user)) == {
        email["P5"],
        email["PD"],
        email["DA"],
    }
    # The worklist shows the server's answer.
    client.force_login(finance_user)
    html = client.get(reverse("workplaces:dashboard"), {"section": "sends"}).content.decode()
    assert "550 5.1.1 Mailbox unavailable &lt;p5@client.example&gt;" in html
    assert "554 5.7.1 Message refused by policy" in html


def test_a_hanging_server_times_out_before_or_after_data(sink, settings, company_profile):
    """No answer before DATA: retried (and received once the next day); no answer after
    the message: unknown, never re-sent."""
    port = settings.MAILERS["default"]["OPTIONS"]["port"]
    settings.MAILERS = smtp_sink.mailer_settings(port, timeout=1)
    customers = _customers(["HB", "HA", "OK"])
    sink.modes = {
        _address("HB"): smtp_sink.HANG_BEFORE_DATA,
        _address("HA"): smtp_sink.HANG_AFTER_DATA,
    }
    result = services.reminders_run(run_date=DAY)
    assert (result.sent, result.failed, result.unknown) == (1, 1, 1)
    email = {ref: _email(c) for ref, c in customers.items()}
    assert email["HB"].status == "failed" and email["HB"].next_attempt_at is not None
    assert email["HA"].status == "unknown"
    sink.modes = {}
    services.reminders_run(run_date=NEXT_DAY)
    assert sorted(sink.message_ids) == sorted(e.message_id for e in email.values())


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs in the sender (no except, no record)."""


def _crash_on(monkeypatch, *, call: int, where: str):
    """Kill the sender at its ``call``-th hand-over (before DATA), or right after the
    server accepted its ``call``-th message (before the record)."""
    from reminders.run import record, send

    calls = {"n": 0}
    target = record.record_handover if where == "handover" else record.record_outcome

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise Killed
        return target(*args, **kwargs)

    monkeypatch.setattr(send, "record_handover" if where == "handover" else "record_outcome", dying)


def _later(minutes=1):
    """Soon after: on PostgreSQL the dead sender's lock is free at once; elsewhere a claim
    counts as abandoned after SENDING_TIMEOUT."""
    delay = datetime.timedelta(minutes=minutes)
    if connection.vendor != "postgresql":
        delay += claim.SENDING_TIMEOUT
    return Reminder.objects.filter(channel="email").latest("claimed_at").claimed_at + delay


@pytest.mark.parametrize("where", ["handover", "accepted"])
def test_a_sender_killed_mid_batch_is_recovered_by_the_next_run(
    sink, company_profile, finance_user, monkeypatch, where
):
    refs = [f"K{i}" for i in range(6)]
    customers = _customers(refs)
    _crash_on(monkeypatch, call=3, where=where)
    with pytest.raises(Killed):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    emails = [_email(customers[r]) for r in refs]
    statuses = [e.status for e in emails]
    assert statuses == ["sent", "sent"] + ["sending"] * 4
    # Killed after the server accepted the third message, before its record: its fate is
    # unknown to the database (it left). Killed at the third hand-over: nothing left.
    assert len(sink.messages) == (3 if where == "accepted" else 2)
    # The next run, a minute later, settles the batch: no 30-minute wait.
    result = services.reminders_run(run_date=DAY, now=_later())
    for e in emails:
        e.refresh_from_db()
    if where == "accepted":
        assert result.recovered == 3 and result.unknown == 1
        assert [e.status for e in emails] == ["sent", "sent", "unknown", "sent", "sent", "sent"]
        assert set(selectors.sends_to_check(user=finance_user)) == {emails[2]}
    else:
        assert result.recovered == 4 and result.unknown == 0
        assert {e.status for e in emails} == {"sent"}
        assert not selectors.sends_to_check(user=finance_user).exists()
    # Every reminder received exactly once, none recorded as sent that was not received.
    received = sink.message_ids
    assert len(received) == len(set(received)) == 6
    assert {e.message_id for e in emails if e.status == "sent"} <= set(received)


def test_the_watchdog_sends_what_never_left_within_minutes(sink, company_profile, monkeypatch):
    customers = _customers(["W0", "W1", "W2"])
    _crash_on(monkeypatch, call=2, where="handover")
    with pytest.raises(Killed):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    from reminders import tasks

    later = _later(minutes=5)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda value=None: DAY)
    out = tasks.recover_stranded_sends()
    assert out == {"recovered": 2, "unknown": 0, "sent": 2, "failed": 0}
    assert {_email(c).status for c in customers.values()} == {"sent"}
    assert len(sink.message_ids) == len(set(sink.message_ids)) == 3


def test_the_watchdog_sends_what_a_run_planned_before_it_died(sink, company_profile, monkeypatch):
    import reminders.run as run

    customers = _customers(["P0", "P1"])

    def killed(**kwargs):
        raise Killed

    monkeypatch.setattr(run, "deliver", killed)
    with pytest.raises(Killed):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    assert {_email(c).status for c in customers.values()} == {"planned"}
    created = Reminder.objects.filter(channel="email").latest("created_at").created_at
    monkeypatch.setattr("django.utils.timezone.localdate", lambda value=None: DAY)
    # Within its grace a run may still be about to send them: left alone.
    soon = services.reminders_watchdog(now=created + datetime.timedelta(minutes=2))
    assert soon.sent == 0 and sink.messages == []
    later = services.reminders_watchdog(now=created + run.PLANNED_GRACE * 2)
    assert later.sent == 2
    assert {_email(c).status for c in customers.values()} == {"sent"}
    assert len(sink.message_ids) == len(set(sink.message_ids)) == 2


def test_a_hand_over_that_cannot_be_recorded_stops_before_data(sink, company_profile, monkeypatch):
    """The database fails when the hand-over is recorded: nothing is sent (DATA never
    starts), and the row is recovered as not sent."""
    from django.db import OperationalError

    from reminders.run import send

    customers = _customers(["H0"])

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(send, "record_handover", lost)
    with pytest.raises(OperationalError):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    assert sink.messages == [] and _email(customers["H0"]).status == "sending"
    result = services.reminders_run(run_date=DAY, now=_later())
    assert (result.recovered, result.sent) == (1, 1)
    assert len(sink.message_ids) == 1


def test_a_live_sender_is_left_alone(sink, company_profile, monkeypatch):
    """Rows claimed by a sender that still holds its lock are not touched, however long
    it takes; once its session ends they are recovered."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    customers = _customers(["L0", "L1"])
    _crash_on(monkeypatch, call=1, where="handover")
    with pytest.raises(Killed):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    token = _email(customers["L0"]).claim_token
    params = connection.get_connection_params()
    dsn = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname=connection.settings_dict["NAME"], **dsn) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [claim.SENDER_LOCK_CLASS, token])
        much_later = _later(minutes=24 * 60)
        assert claim.recover_stranded(now=much_later) == (0, 0)
        assert {_email(c).status for c in customers.values()} == {"sending"}
    assert claim.recover_stranded(now=much_later) == (2, 0)
    assert {_email(c).status for c in customers.values()} == {"failed"}
