"""Sending: a real SMTP connection, refusals and drops, crashes, concurrency, query counts."""

import datetime
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Activity
from reminders import selectors, services
from reminders.models import Reminder
from reminders.run import claim, record
from tests.factories import make_invoice, make_payment, make_reminder_customer

D = datetime.date
DAY = D(2026, 4, 2)  # Thursday: step 1 of invoices due 1 April


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An aiosmtpd handler that keeps what it accepts, or refuses every message."""

    def __init__(self):
        self.messages: list[bytes] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.7.1 Try again later"
        self.messages.append(envelope.original_content or envelope.content)
        return "250 2.0.0 Message accepted"


class CountingController(Controller):
    """Counts the SMTP connections (one protocol instance per connection)."""

    connections = 0

    def factory(self):
        type(self).connections += 1
        return super().factory()


@pytest.fixture
def smtp_server(settings):
    handler = Recorder()
    port = _free_port()
    controller = CountingController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    CountingController.connections = 0  # start() makes one connection of its own
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    yield handler
    controller.stop()


class DroppingServer:
    """A TCP server that accepts connections and closes them at once, for a bounded
    number of connections and time."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for _ in range(200):
            if self.stop.is_set():
                break
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _customers(n, due=None, prefix="C"):
    due = due or D(2026, 4, 1)
    customers = []
    for i in range(n):
        customer = make_reminder_customer(f"{prefix}{i:03d}")
        make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)
        make_invoice(
            customer,
            issue_date=due - datetime.timedelta(days=30),
            due_date=due,
            amount="900.00",
            plan="monthly",
            parts=3,
        )
        customers.append(customer)
    return customers


@pytest.mark.slow
@pytest.mark.django_db
def test_real_smtp_one_connection_for_the_batch(smtp_server, company_profile):
    _customers(3)
    result = services.reminders_run(run_date=DAY)
    assert result.sent == 3
    assert len(smtp_server.messages) == 3
    assert CountingController.connections == 1
    sent = Reminder.objects.filter(channel="email", status="sent")
    assert sent.count() == 3
    received = b"\n".join(smtp_server.messages).decode()
    for reminder in sent:
        assert reminder.message_id in received
        assert reminder.sent_at is not None and reminder.attempts == 1


@pytest.mark.slow
@pytest.mark.django_db
def test_refusing_server_leaves_failed_then_a_later_run_sends_once(smtp_server, company_profile):
    _customers(2)
    smtp_server.refuse = True
    result = services.reminders_run(run_date=DAY)
    assert (result.sent, result.failed) == (0, 2)
    failed = list(Reminder.objects.filter(channel="email"))
    assert {r.status for r in failed} == {"failed"}
    assert all("451" in r.last_error and r.next_attempt_at and r.attempts == 1 for r in failed)
    assert not Activity.objects.filter(kind="email").exists()
    # A rerun the same day waits for the backoff; the server would now accept.
    smtp_server.refuse = False
    services.reminders_run(run_date=DAY)
    assert smtp_server.messages == []
    # The next day's run retries: sent once, with the same Message-ID; no new email.
    services.reminders_run(run_date=DAY + datetime.timedelta(days=1))
    services.reminders_run(run_date=DAY + datetime.timedelta(days=1))
    assert len(smtp_server.messages) == 2
    reminders = list(Reminder.objects.filter(channel="email"))
    assert len(reminders) == 2
    assert {(r.status, r.attempts) for r in reminders} == {("sent", 2)}
    assert {r.message_id for r in reminders} == {r.message_id for r in failed}
    assert Activity.objects.filter(kind="email").count() == 2


@pytest.mark.slow
@pytest.mark.django_db
def test_nothing_listening_then_sent_once(settings, company_profile):
    _customers(2)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _free_port(), "timeout": 2},
        }
    }
    result = services.reminders_run(run_date=DAY)
    assert result.failed == 2
    assert all("Connection" in r.last_error for r in Reminder.objects.filter(channel="email"))
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    services.reminders_run(run_date=D(2026, 4, 3))
    services.reminders_run(run_date=D(2026, 4, 3))
    assert len(mail.outbox) == 2
    assert set(Reminder.objects.filter(channel="email").values_list("status", flat=True)) == {
        "sent"
    }


@pytest.mark.slow
@pytest.mark.django_db
def test_dropped_connection_then_sent_once(settings, company_profile):
    _customers(2)
    server = DroppingServer()
    try:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 2},
            }
        }
        result = services.reminders_run(run_date=DAY)
    finally:
        server.close()
    assert result.failed == 2
    assert all(
        "SMTPServerDisconnected" in r.last_error for r in Reminder.objects.filter(channel="email")
    )
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    services.reminders_run(run_date=D(2026, 4, 3))
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_failed_retry_is_cancelled_when_the_invoice_is_paid(settings, company_profile):
    (customer,) = _customers(1)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _free_port(), "timeout": 2},
        }
    }
    services.reminders_run(run_date=DAY)
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    make_payment(customer, date=DAY, amount="1900.00")
    mail.outbox = []
    services.reminders_run(run_date=D(2026, 4, 3))
    assert mail.outbox == []
    reminder = Reminder.objects.get(channel="email")
    assert reminder.status == "cancelled"
    assert not reminder.items.filter(active=True).exists()


@pytest.mark.django_db
def test_partly_paid_failed_email_is_replaced_by_a_fresh_one(settings, company_profile):
    (customer,) = _customers(1)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _free_port(), "timeout": 2},
        }
    }
    services.reminders_run(run_date=DAY)
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    make_payment(customer, date=DAY, amount="100.00")
    mail.outbox = []
    services.reminders_run(run_date=D(2026, 4, 3))
    assert len(mail.outbox) == 1
    statuses = sorted(Reminder.objects.filter(channel="email").values_list("status", flat=True))
    assert statuses == ["cancelled", "sent"]
    assert "900,00" in mail.outbox[0].body  # 1000 - 100 left on the first invoice


@pytest.mark.django_db
def test_crash_before_the_hand_over_is_sent_again_once(monkeypatch, company_profile, finance_user):
    _customers(1)

    def crash(batch, **callbacks):
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr("reminders.emails.send_batch", crash)
    with pytest.raises(KeyboardInterrupt):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    reminder = Reminder.objects.get(channel="email")
    assert reminder.status == "sending" and reminder.message_id and reminder.claimed_at
    assert reminder.handed_at is None  # it never reached the mail server
    mail.outbox = []
    later = reminder.claimed_at + claim.SENDING_TIMEOUT + datetime.timedelta(minutes=1)
    result = services.reminders_run(run_date=D(2026, 4, 3), now=later)
    assert (result.recovered, result.unknown, result.sent) == (1, 0, 1)
    for day in (3, 3, 7, 8):
        services.reminders_run(run_date=D(2026, 4, day), now=later)
    reminder.refresh_from_db()
    # One attempt: the one killed never reached the server.
    assert reminder.status == "sent" and reminder.attempts == 1
    # Sent once, with its Message-ID.
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [reminder.message_id]


@pytest.mark.django_db
def test_crash_after_the_hand_over_becomes_unknown_and_is_never_resent(
    monkeypatch, company_profile, finance_user
):
    _customers(1)
    from reminders.run import send

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("worker killed")  # after the hand-over, before the record

    monkeypatch.setattr(send, "record_outcome", killed)
    with pytest.raises(KeyboardInterrupt):
        services.reminders_run(run_date=DAY)
    monkeypatch.undo()
    reminder = Reminder.objects.get(channel="email")
    assert reminder.status == "sending" and reminder.handed_at is not None
    mail.outbox = []
    later = reminder.claimed_at + claim.SENDING_TIMEOUT + datetime.timedelta(minutes=1)
    result = services.reminders_run(run_date=D(2026, 4, 3), now=later)
    assert result.unknown == 1
    for day in range(3, 20):
        services.reminders_run(run_date=D(2026, 4, day), now=later)
    reminder.refresh_from_db()
    assert reminder.status == "unknown"
    assert mail.outbox == []  # never re-sent, and nothing new while it is unsettled
    # It waits on the finance worklist for a person to check.
    assert reminder in selectors.sends_to_check(user=finance_user)


# Each email costs a fixed number of queries of its own: the hand-over (one update), then
# its record (a transaction: an update and its timeline entry) as soon as the server
# answered, so a crash loses nothing already known; and the webhook endpoints that want
# to be told it was sent (core.webhooks.emit: one query, none written when there is none).
PER_EMAIL = 6


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_ledger(company_profile):
    _customers(3, prefix="S")
    with CaptureQueriesContext(connection) as small:
        result = services.reminders_run(run_date=DAY)
    assert result.sent == 3
    # Ten times more customers (and installments) falling due a week later; the first
    # three take their second step the same day.
    _customers(30, due=D(2026, 4, 8), prefix="L")
    with CaptureQueriesContext(connection) as large:
        result = services.reminders_run(run_date=D(2026, 4, 9))
    assert result.sent == 33
    assert len(large.captured_queries) - 33 * PER_EMAIL == len(small.captured_queries) - (
        3 * PER_EMAIL
    ), "\n".join(q["sql"][:120] for q in large.captured_queries)


def _run_in_thread(run_date, errors):
    try:
        services.reminders_run(run_date=run_date)
    except Exception as exc:  # reported by the test
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_runs_send_each_reminder_once(company_profile):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers and ignores SELECT ... FOR UPDATE SKIP LOCKED")
    _customers(12)
    mail.outbox = []
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait(timeout=10)
        _run_in_thread(DAY, errors)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(mail.outbox) == 12
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(set(ids)) == 12
    assert Reminder.objects.filter(channel="email").count() == 12
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}
    assert Activity.objects.filter(kind="email").count() == 12


def test_backoff_grows_and_stays_under_a_day():
    delays = [record.backoff(n) for n in range(1, 8)]
    assert delays[0] == datetime.timedelta(minutes=30)
    assert delays == sorted(delays) and max(delays) < datetime.timedelta(days=1)
