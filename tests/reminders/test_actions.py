"""Manual actions (services and views), permissions, the preview page and the schedule."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity
from receivables.models import Dispute, PromiseToPay
from reminders import services, tasks
from reminders.letters import workflow as letters
from reminders.models import Reminder, ReminderRun
from tests.factories import make_invoice, make_reminder_customer

pytestmark = pytest.mark.calendar  # data built from today
TODAY = timezone.localdate


def _overdue_customer(sales_user=None, ref="ACT"):
    customer = make_reminder_customer(ref, sales_rep=sales_user)
    due = TODAY() - datetime.timedelta(days=3)
    invoice = make_invoice(
        customer, issue_date=due - datetime.timedelta(days=30), due_date=due, amount="750.00"
    )
    return customer, invoice


@pytest.mark.django_db
def test_send_now_sends_the_next_step_then_refuses_twice(finance_user, company_profile):
    customer, _invoice = _overdue_customer()
    mail.outbox = []
    reminder = services.reminder_send_now(customer=customer, user=finance_user)
    assert reminder.status == "sent" and reminder.actor == finance_user
    assert reminder.step.position == 1 and len(mail.outbox) == 1
    activity = Activity.objects.get(customer=customer, kind="email")
    assert activity.author == finance_user
    # Again the same day: the next email step, regardless of the cadence.
    second = services.reminder_send_now(customer=customer, user=finance_user)
    assert second.step.position == 2 and len(mail.outbox) == 2
    # The daily run the same day adds no third email.
    services.reminders_run(run_date=TODAY())
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_send_now_never_for_disputed_invoices(finance_user, company_profile):
    customer, invoice = _overdue_customer()
    services.dispute_open(invoice=invoice, user=finance_user, reason=Dispute.Reason.QUALITY)
    with pytest.raises(Exception, match="Nothing to remind"):
        services.reminder_send_now(customer=customer, user=finance_user)
    assert not Reminder.objects.exists()


@pytest.mark.django_db
def test_manual_services_write_the_timeline(finance_user, sales_user, company_profile):
    customer, invoice = _overdue_customer(sales_user)
    services.activity_log(customer=customer, user=sales_user, summary="Called, will pay")
    promise = services.promise_record(
        customer=customer,
        user=sales_user,
        promised_date=TODAY(),
        amount=Decimal("750.00"),
        invoices=[invoice],
    )
    assert list(promise.invoices.all()) == [invoice]
    services.reminders_pause(customer=customer, user=finance_user, until=TODAY())
    dispute = services.dispute_open(invoice=invoice, user=finance_user, reason="price")
    services.dispute_resolve(dispute=dispute, user=finance_user, resolution="Credit note")
    kinds = sorted(Activity.objects.filter(customer=customer).values_list("kind", flat=True))
    assert kinds == ["call", "dispute", "dispute", "pause", "promise"]
    assert all(a.author_id for a in Activity.objects.filter(customer=customer))
    customer.refresh_from_db()
    assert customer.reminders_paused_until == TODAY()


@pytest.mark.django_db
def test_sales_rep_may_only_note_and_promise(sales_user, company_profile):
    from django.core.exceptions import PermissionDenied

    customer, invoice = _overdue_customer(sales_user)
    with pytest.raises(PermissionDenied):
        services.reminder_send_now(customer=customer, user=sales_user)
    with pytest.raises(PermissionDenied):
        services.dispute_open(invoice=invoice, user=sales_user, reason="price")
    with pytest.raises(PermissionDenied):
        services.reminders_pause(customer=customer, user=sales_user, until=TODAY())


def _matrix_users(finance_user, manager_user, sales_user, other_sales_user):
    return {
        "finance": finance_user,
        "manager": manager_user,
        "owner": sales_user,
        "other": other_sales_user,
    }


# action -> expected status per user (anonymous redirects to login)
MATRIX = {
    "send_now": {"finance": 200, "manager": 403, "owner": 403, "other": 404},
    "log_call": {"finance": 200, "manager": 403, "owner": 200, "other": 404},
    "record_promise": {"finance": 200, "manager": 403, "owner": 200, "other": 404},
    "pause": {"finance": 200, "manager": 403, "owner": 403, "other": 404},
    "open_dispute": {"finance": 200, "manager": 403, "owner": 403, "other": 404},
}


def _payload(action, invoice):
    return {
        "send_now": {},
        "log_call": {"kind": "call", "summary": "Rang", "outcome": "no answer"},
        "record_promise": {"promised_date": TODAY().isoformat(), "amount": "100.00"},
        "pause": {"until": TODAY().isoformat(), "note": "holidays"},
        "open_dispute": {"invoice": invoice.pk, "reason": "price"},
    }[action]


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(MATRIX))
def test_permission_matrix(
    client, action, finance_user, manager_user, sales_user, other_sales_user, company_profile
):
    customer, invoice = _overdue_customer(sales_user)
    url = reverse(f"reminders:{action}", args=[customer.pk])
    response = client.post(url, _payload(action, invoice), headers={"HX-Request": "true"})
    assert response.status_code == 302 and "login" in response["Location"]
    users = _matrix_users(finance_user, manager_user, sales_user, other_sales_user)
    for who, expected in MATRIX[action].items():
        client.force_login(users[who])
        response = client.post(url, _payload(action, invoice), headers={"HX-Request": "true"})
        assert response.status_code == expected, (action, who, response.content[:300])


@pytest.mark.django_db
def test_htmx_form_returns_its_fragment_and_plain_post_redirects(
    client, finance_user, company_profile
):
    customer, _invoice = _overdue_customer()
    client.force_login(finance_user)
    url = reverse("reminders:log_call", args=[customer.pk])
    response = client.post(
        url, {"kind": "note", "summary": "Hello"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and b"<form" in response.content
    assert b"<html" not in response.content and "HX-Request" in response["Vary"]
    response = client.post(url, {"kind": "call", "summary": "Again"})
    assert response.status_code == 302
    invalid = client.post(url, {"kind": "call"}, headers={"HX-Request": "true"})
    assert invalid.status_code == 200 and b"errorlist" in invalid.content
    assert Activity.objects.filter(customer=customer).count() == 2


@pytest.mark.django_db
def test_resolve_dispute_view(client, finance_user, other_sales_user, company_profile):
    _customer, invoice = _overdue_customer()
    dispute = services.dispute_open(invoice=invoice, user=finance_user, reason="price")
    url = reverse("reminders:resolve_dispute", args=[dispute.pk])
    client.force_login(other_sales_user)
    assert client.post(url, {"resolution": "x"}).status_code == 404
    client.force_login(finance_user)
    assert (
        client.post(url, {"resolution": "Agreed"}, headers={"HX-Request": "true"}).status_code
        == 200
    )
    dispute.refresh_from_db()
    assert dispute.resolved_by == finance_user


@pytest.mark.django_db
def test_actions_panel_and_include(client, finance_user, manager_user, company_profile):
    from django.template.loader import render_to_string

    customer, _invoice = _overdue_customer()
    client.force_login(finance_user)
    panel = client.get(reverse("reminders:customer_actions", args=[customer.pk]))
    assert panel.status_code == 200
    for fragment in (b"send-now", b"/call/", b"/promise/", b"/pause/", b"/dispute/"):
        assert fragment in panel.content
    client.force_login(manager_user)
    panel = client.get(reverse("reminders:customer_actions", args=[customer.pk]))
    assert b"/send-now/" not in panel.content and b"/call/" not in panel.content
    html = render_to_string("reminders/_customer_actions.html", {"customer": customer})
    assert reverse("reminders:customer_actions", args=[customer.pk]) in html


@pytest.mark.django_db
def test_preview_page_sends_nothing(client, finance_user, other_sales_user, company_profile):
    customer = make_reminder_customer("PREV", cc="cc@prev.example")
    tomorrow = TODAY() + datetime.timedelta(days=1)
    make_invoice(
        customer,
        issue_date=tomorrow - datetime.timedelta(days=40),
        due_date=tomorrow - datetime.timedelta(days=10),
    )
    mail.outbox = []
    client.force_login(finance_user)
    response = client.get(reverse("reminders:preview"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "PREV" in content and "prev@client.example" in content
    assert mail.outbox == [] and not Reminder.objects.exists()
    client.force_login(other_sales_user)
    assert "PREV" not in client.get(reverse("reminders:preview")).content.decode()


@pytest.mark.django_db
def test_preview_simulates_each_day(finance_user, company_profile):
    from reminders.selectors import reminders_preview

    customer = make_reminder_customer("SIM")
    make_invoice(customer, issue_date=datetime.date(2026, 3, 1), due_date=datetime.date(2026, 4, 1))
    preview = reminders_preview(user=finance_user, start=datetime.date(2026, 4, 2), days=8)
    sent = [(d.day, p.email_step.position) for d in preview.days for p in d.plans if p.emails]
    assert sent == [(datetime.date(2026, 4, 2), 1), (datetime.date(2026, 4, 9), 2)]


@pytest.mark.django_db
def test_daily_schedule_exists():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="reminders.tasks.run_daily_reminders")
    assert schedule.schedule_type == Schedule.DAILY
    local = timezone.localtime(schedule.next_run, timezone=datetime.UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Paris")
    )
    assert (local.hour, local.minute) == (7, 0)
    assert schedule.intended_date_kwarg == "scheduled_for"


@pytest.mark.django_db
@pytest.mark.clock("2026-04-13 10:00")  # Monday, 10:00 in Paris
def test_a_task_picked_up_late_runs_today_not_the_stale_day(company_profile, finance_user):
    """Worker down from Friday 06:00 to Monday 10:00: Friday's queued task runs on Monday
    and is Monday's run (the email leaves on Monday and is recorded so); no run is dated
    Friday, and Monday's own task then sends nothing twice."""
    customer = make_reminder_customer("TASK")
    # Step 1 falls due on Friday 10 April.
    make_invoice(customer, issue_date=datetime.date(2026, 3, 9), due_date=datetime.date(2026, 4, 9))
    mail.outbox = []
    out = tasks.run_daily_reminders(scheduled_for="2026-04-10T04:00:00+00:00")  # Friday 06:00
    assert out["date"] == "2026-04-13" and out["sent"] == 1 and len(mail.outbox) == 1
    email = Reminder.objects.get(channel="email")
    assert (email.run_date, email.attempted_on) == (datetime.date(2026, 4, 13),) * 2
    assert set(ReminderRun.objects.values_list("run_date", flat=True)) == {
        datetime.date(2026, 4, 13)
    }
    # Monday's own task, and an explicit date (a person's choice), send nothing twice.
    assert tasks.run_daily_reminders(scheduled_for="2026-04-13T04:00:00+00:00")["sent"] == 0
    assert tasks.run_daily_reminders(date="2026-04-13")["sent"] == 0
    assert len(mail.outbox) == 1
    # Step 2 is spaced from Monday, when step 1 really left: 7 days later, not 4.
    from reminders.selectors import reminders_preview

    preview = reminders_preview(user=finance_user, start=datetime.date(2026, 4, 14), days=7)
    assert [d.day for d in preview.days for p in d.plans if p.emails] == [
        datetime.date(2026, 4, 20)
    ]


@pytest.mark.django_db
def test_letters_go_through_their_own_workflow_only(finance_user, company_profile):
    """The daily run plans a letter awaiting approval; it is cancelled (or approved) by the
    letters workflow, never by the email services."""
    customer = make_reminder_customer("LET")
    make_invoice(customer, issue_date=datetime.date(2026, 3, 1), due_date=datetime.date(2026, 4, 1))
    day = datetime.date(2026, 4, 2)
    for offset in (0, 7, 14, 29):  # steps 1, 2, 3 (Thursdays), then the letter on 1 May+
        services.reminders_run(run_date=day + datetime.timedelta(days=offset))
    services.reminders_run(run_date=datetime.date(2026, 5, 4))
    letter = Reminder.objects.get(channel="letter")
    assert letter.status == "awaiting_approval" and letter.items.count() == 1
    assert not hasattr(services, "letter_approve")
    for service in (services.reminder_cancel, services.reminder_mark_sent):
        with pytest.raises(ValidationError):
            service(reminder=letter, user=finance_user)
    letters.letter_cancel(user=finance_user, reminder_id=letter.pk, reason="Settled by phone")
    letter.refresh_from_db()
    assert letter.status == "cancelled" and not letter.items.filter(active=True).exists()
    assert PromiseToPay.objects.count() == 0


@pytest.mark.django_db
def test_a_letter_step_without_approval_is_approved_by_the_run(
    finance_user, company_profile, settings, tmp_path, django_capture_on_commit_callbacks
):
    """A letter step that needs nobody's approval enters the letters workflow approved by
    the run: its PDF is rendered and stored after commit, then finance staff post it."""
    from reminders.models import ScenarioStep

    settings.MEDIA_ROOT = tmp_path / "media"
    ScenarioStep.objects.filter(action="letter").update(approval_required=False)
    customer = make_reminder_customer("AUTO")
    make_invoice(customer, issue_date=datetime.date(2026, 3, 1), due_date=datetime.date(2026, 4, 1))
    day = datetime.date(2026, 4, 2)
    for offset in (0, 7, 14):
        services.reminders_run(run_date=day + datetime.timedelta(days=offset))
    with django_capture_on_commit_callbacks(execute=True):
        services.reminders_run(run_date=datetime.date(2026, 5, 4))
    letter = Reminder.objects.get(channel="letter")
    assert letter.status == "sending" and letter.approved_at and letter.approved_by is None
    assert letter.pdf
    letters.letter_record_posting(
        user=finance_user, reminder_id=letter.pk, tracking_number="1A00000002"
    )
    letter.refresh_from_db()
    assert letter.status == "sent" and letter.attempted_on == TODAY()
