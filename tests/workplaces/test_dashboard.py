"""The finance dashboard (workplaces/selectors/dashboard.py, workplaces:dashboard) and its in-place
worklist actions (workplaces:worklist_*), the "see all" pages, each role's home page, and
the customer page as the place a call is prepared (timeline, payment behaviour,
reminder log, actions panel)."""

import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity, Contact
from receivables import kpis
from receivables.models import AgedBalanceSnapshot, Dispute, PromiseToPay
from reminders.models import Reminder, ReminderItem, ScenarioStep
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    make_invoice,
    make_payment,
    make_reminder_customer,
    make_user,
)
from workplaces.selectors import dashboard
from workplaces.selectors.customers import customer_timeline, payment_behaviour

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
HTMX = {"HX-Request": "true"}
DASHBOARD = reverse("workplaces:dashboard")
S = Reminder.Status
C = Reminder.Channel


def today() -> datetime.date:
    return timezone.localdate()


def days(n: int) -> datetime.date:
    return today() + datetime.timedelta(days=n)


def ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


def step(position: int) -> ScenarioStep:
    return ScenarioStep.objects.get(scenario__is_default=True, position=position)


def reminder(customer, channel, status, *, position=1, run_date=None, **kwargs) -> Reminder:
    return Reminder.objects.create(
        customer=customer,
        step=step(position),
        channel=channel,
        status=status,
        run_date=run_date or today(),
        **kwargs,
    )


def add_worklist_items(customer, finance_user, *, tag: str = "") -> dict:
    """One item of every worklist kind on ``customer`` (which owes 1000, overdue)."""
    invoice = make_invoice(customer, issue_date=days(-70), due_date=days(-40), amount="1000.00")
    installment = invoice.installments.get()
    items = {
        "tasks": reminder(customer, C.PHONE, S.TODO, position=3, run_date=days(-2)),
        "letters": reminder(customer, C.LETTER, S.AWAITING_APPROVAL, position=4),
        "sends_failed": reminder(
            customer,
            C.EMAIL,
            S.FAILED,
            attempts=1,
            attempted_on=today(),
            subject="Relance",
            body_text="Merci",
            body_html="<p>Merci</p>",
            recipients={"to": [f"to{tag}@client.example"], "cc": []},
            message_id=f"<failed{tag}@relance.test>",
            last_error="451 try later",
            next_attempt_at=timezone.now() + datetime.timedelta(hours=1),
            total_amount=Decimal("1000.00"),
        ),
        "sends_unknown": reminder(customer, C.EMAIL, S.UNKNOWN, position=2, attempts=1),
        "collection": reminder(customer, C.COLLECTION, S.TODO, position=5),
        "sent": reminder(customer, C.EMAIL, S.SENT, sent_at=timezone.now()),
        "followups": Activity.objects.create(
            customer=customer,
            kind=Activity.Kind.CALL,
            author=finance_user,
            summary=f"Asked for a copy {tag}",
            occurred_at=ago(7),  # before the promise was broken: not its follow-up
            next_action_date=days(-1),
        ),
        "promises": PromiseToPay.objects.create(
            customer=customer,
            promised_date=days(-5),
            amount=Decimal("400.00"),
            status=PromiseToPay.Status.BROKEN,
            recorded_by=finance_user,
        ),
        "disputes": Dispute.objects.create(
            invoice=invoice, reason=Dispute.Reason.PRICE, opened_at=ago(12)
        ),
    }
    for key in ("letters", "sends_failed"):
        ReminderItem.objects.create(
            reminder=items[key],
            installment=installment,
            step=items[key].step,
            amount_left=installment.amount_left,
            days_late=40,
        )
    # The dispute would hold the email back: the failed email covers an undisputed part.
    other = make_invoice(customer, issue_date=days(-60), due_date=days(-30), amount="500.00")
    ReminderItem.objects.filter(reminder=items["sends_failed"]).update(
        installment=other.installments.get(), amount_left=Decimal("500.00")
    )
    return items


@pytest.fixture
def client(client):
    """Pages in English, the source language the assertions are written in."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def world(sales_user, other_sales_user, finance_user, manager_user, company_profile):
    owned = make_reminder_customer("OWNED", sales_rep=sales_user, credit_limit=Decimal("100.00"))
    Contact.objects.filter(customer=owned).update(phone="04 72 00 00 01")
    foreign = make_reminder_customer("FOREIGN", sales_rep=other_sales_user)
    return {
        "owned": owned,
        "foreign": foreign,
        "items": add_worklist_items(owned, finance_user),
        "foreign_items": add_worklist_items(foreign, finance_user, tag="f"),
        "users": {
            "owner": sales_user,
            "other_sales": other_sales_user,
            "finance": finance_user,
            "manager": manager_user,
        },
    }


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


# --- what the dashboard shows ------------------------------------------------------------


def test_dashboard_shows_every_kind_of_worklist_item(finance_client, world):
    response = finance_client.get(DASHBOARD)
    assert response.status_code == 200
    data = response.context["data"]
    html = response.content.decode()
    items = world["items"]
    expected = {
        "tasks": 2,
        "followups": 2,
        "letters": 2,
        "promises": 2,
        "disputes": 2,
        "sends": 4,
        "collection": 2,
        "credit": 1,  # only the owned customer has a credit limit
        "sent": 2,
    }
    assert {k: s.total for k, s in data.sections.items()} == expected
    for key, obj in items.items():
        section = key.split("_")[0]
        assert f'id="wl-{section}-{obj.pk}"' in html, key
    assert f'id="wl-credit-{world["owned"].pk}"' in html
    assert 'href="tel:0472000001"' in html  # click-to-call on the calls to make
    assert "open for 12 days" in html  # a dispute's age
    # Actions are offered in place, each as an htmx post on its row.
    assert reverse("workplaces:worklist_call", args=["tasks", items["tasks"].pk]) in html
    assert reverse("workplaces:worklist_approve", args=["letters", items["letters"].pk]) in html
    assert reverse("workplaces:worklist_retry", args=["sends", items["sends_failed"].pk]) in html
    assert (
        reverse("workplaces:worklist_mark_sent", args=["sends", items["sends_unknown"].pk]) in html
    )
    assert "style=" not in html


def test_dashboard_totals_and_trend(finance_client, world):
    page = finance_client.get(DASHBOARD).content.decode()
    # The worklist does not wait for the totals: htmx fetches them once the page is shown.
    assert 'hx-get="/customers/dashboard/?part=totals" hx-trigger="load"' in page
    response = finance_client.get(DASHBOARD, {"part": "totals"}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="totals"' in html and "<svg" in html
    assert "HX-Request" in response["Vary"]
    totals = response.context["totals"]
    labels = [f.label for f in totals.figures]
    assert labels == ["Outstanding", "Overdue", "Overdue share", "DSO"]
    outstanding, overdue, share, dso = (f.value for f in totals.figures)
    assert outstanding == overdue == Decimal("3000.00")  # 1000 + 500 per customer, all late
    assert share == Decimal("100.0")
    assert dso == Decimal("90.0")  # 3000 outstanding over 3000 sold in 90 days
    for figure in totals.figures:
        assert figure.trend.segments, figure.label
        assert isinstance(figure.value, Decimal)


def test_totals_without_javascript(finance_client, world):
    response = finance_client.get(DASHBOARD, {"part": "totals"})
    html = response.content.decode()
    assert "<html" in html and 'id="totals"' in html and "wl-tasks-" in html


def test_trend_reads_month_ends_from_the_snapshots(finance_user, world):
    ends = [e for e in kpis.month_ends(until=today(), count=12) if e < today()]
    AgedBalanceSnapshot.objects.create(
        as_of=ends[0],
        status=AgedBalanceSnapshot.Status.DONE,
        progress=100,
        completed_at=timezone.now(),
        d1_30=Decimal("70.00"),
        d90_plus=Decimal("30.00"),
        total=Decimal("1234.00"),
    )
    balances = dashboard.month_end_balances(user=finance_user, ends=ends)
    assert balances[ends[0]] == (Decimal("1234.00"), Decimal("100.00"))
    # Computed: each customer's 1000 fell due 40 days ago, before the last month end; its
    # 500 fell due 30 days ago, which is that month end itself (not yet late) on the last
    # day of a 30-day month.
    late_500 = Decimal("500.00") if days(-30) < ends[-1] else Decimal("0.00")
    assert balances[ends[-1]] == (Decimal("3000.00"), 2 * (Decimal("1000.00") + late_500))
    totals = dashboard.dashboard_totals(user=finance_user, today=today())
    assert [f.first for f in totals.figures][:2] == [Decimal("1234.00"), Decimal("100.00")]


def test_sparkline_geometry():
    line = dashboard.sparkline([Decimal("10"), None, Decimal("30"), Decimal("20")], width=100)
    assert line.low == Decimal("10") and line.high == Decimal("30")
    assert len(line.segments) == 2  # the undefined value breaks the line
    first, second = line.segments
    assert first == "3.0,29.0"
    assert second.startswith("65.7,3.0")  # the highest value is at the top
    assert line.last == ("97.0", "16.0")
    empty = dashboard.sparkline([None, None])
    assert empty.segments == [] and empty.last is None


def test_follow_up_leaves_once_a_person_followed_up(finance_user, world):
    followup = world["items"]["followups"]
    rows = dashboard.follow_ups(user=finance_user, today=today())
    assert followup in rows
    # A system entry without a next action does not supersede it...
    Activity.objects.create(customer=followup.customer, kind="email", summary="Sent")
    assert followup in dashboard.follow_ups(user=finance_user, today=today())
    # ...a note by a person does.
    Activity.objects.create(
        customer=followup.customer, kind="note", summary="Done", author=finance_user
    )
    assert followup not in dashboard.follow_ups(user=finance_user, today=today())


def test_broken_promises_are_recent_and_not_followed_up(finance_user, world):
    promise = world["items"]["promises"]
    old = PromiseToPay.objects.create(
        customer=promise.customer,
        promised_date=days(-60),
        amount=Decimal("10.00"),
        status=PromiseToPay.Status.BROKEN,
    )
    rows = list(dashboard.broken_promises(user=finance_user, today=today()))
    assert promise in rows and old not in rows


def test_a_promise_for_the_same_day_still_shows_once_broken(finance_user, sales_user):
    """The promise's own timeline entry is not its follow-up; a newer promise is."""
    from reminders import services

    c = CustomerFactory(sales_rep=sales_user)
    make_invoice(c, issue_date=days(-10), amount="100.00")  # a promise needs something owed
    promise = services.promise_record(
        customer=c, user=finance_user, promised_date=today(), amount=Decimal("50.00")
    )
    PromiseToPay.objects.filter(pk=promise.pk).update(status=PromiseToPay.Status.BROKEN)
    assert promise in dashboard.broken_promises(user=finance_user, today=today())
    services.promise_record(
        customer=c, user=sales_user, promised_date=days(7), amount=Decimal("50.00")
    )
    assert promise not in dashboard.broken_promises(user=finance_user, today=today())


# --- the in-place actions ----------------------------------------------------------------


def post(client, name, section, obj, data=None, htmx=True):
    url = reverse(f"workplaces:worklist_{name}", args=[section, obj.pk])
    return client.post(url, data or {}, headers=HTMX if htmx else {})


def test_log_the_call_on_a_phone_task_closes_it(finance_client, world, finance_user):
    task = world["items"]["tasks"]
    response = post(
        finance_client,
        "call",
        "tasks",
        task,
        {"outcome": "No answer", "note": "Rang twice", "next_action_date": days(2).isoformat()},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "worklist-done" in html and "Call logged." in html and "<html" not in html
    assert "HX-Request" in response["Vary"]
    task.refresh_from_db()
    assert task.status == S.DONE and task.done_by == finance_user
    call = Activity.objects.get(customer=task.customer, kind="call", outcome="No answer")
    assert call.body == "Rang twice" and call.next_action_date == days(2)
    assert call.author == finance_user


def test_postpone_a_phone_task_turns_it_into_a_follow_up(finance_client, world, finance_user):
    task = world["items"]["tasks"]
    response = post(finance_client, "postpone", "tasks", task, {"until": days(3).isoformat()})
    assert response.status_code == 200 and "Postponed to" in response.content.decode()
    task.refresh_from_db()
    assert task.status == S.DONE
    note = Activity.objects.get(customer=task.customer, kind="note", next_action_date=days(3))
    assert note.summary.startswith("Call postponed to")
    # It comes back on that day.
    assert note in dashboard.follow_ups(user=finance_user, today=days(3))
    assert note not in dashboard.follow_ups(user=finance_user, today=today())


def test_postpone_refuses_today_or_earlier_and_changes_nothing(finance_client, world):
    followup = world["items"]["followups"]
    before = Activity.objects.count()
    response = post(
        finance_client, "postpone", "followups", followup, {"until": today().isoformat()}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="wl-followups-{followup.pk}"' in html and "Choose a day after today." in html
    assert '<details class="wl-action" open>' in html
    assert Activity.objects.count() == before


def test_follow_up_call_and_postpone(finance_client, world, finance_user):
    followup = world["items"]["followups"]
    response = post(finance_client, "call", "followups", followup, {"outcome": "Reached"})
    assert "Call logged." in response.content.decode()
    assert followup not in dashboard.follow_ups(user=finance_user, today=today())
    other = world["foreign_items"]["followups"]
    post(finance_client, "postpone", "followups", other, {"until": days(7).isoformat()})
    assert other not in dashboard.follow_ups(user=finance_user, today=today())
    assert Activity.objects.filter(customer=other.customer, next_action_date=days(7)).exists()


def test_invalid_call_form_keeps_the_row_and_writes_nothing(finance_client, world):
    task = world["items"]["tasks"]
    before = Activity.objects.count()
    response = post(finance_client, "call", "tasks", task, {"outcome": ""})
    html = response.content.decode()
    assert f'id="wl-tasks-{task.pk}"' in html and "field-error" in html
    task.refresh_from_db()
    assert task.status == S.TODO and Activity.objects.count() == before


def test_approve_and_cancel_letters(finance_client, world, finance_user):
    letter = world["items"]["letters"]
    response = post(finance_client, "approve", "letters", letter)
    assert response.status_code == 200 and "Letter approved" in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == S.SENDING and letter.approved_by == finance_user
    other = world["foreign_items"]["letters"]
    response = post(finance_client, "cancel", "letters", other, {"reason": "Paid by phone"})
    assert "Cancelled." in response.content.decode()
    other.refresh_from_db()
    assert other.status == S.CANCELLED and "Paid by phone" in other.note
    assert not other.items.filter(active=True).exists()


def test_approving_twice_says_so(finance_client, world):
    letter = world["items"]["letters"]
    post(finance_client, "approve", "letters", letter)
    response = post(finance_client, "approve", "letters", letter)
    assert "not awaiting approval" in response.content.decode()


def test_retry_a_failed_send(finance_client, world):
    failed = world["items"]["sends_failed"]
    mail.outbox = []
    response = post(finance_client, "retry", "sends", failed)
    assert response.status_code == 200 and "Sent." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == S.SENT and len(mail.outbox) == 1


def test_cancel_a_failed_send(finance_client, world):
    failed = world["items"]["sends_failed"]
    response = post(finance_client, "cancel", "sends", failed)
    assert "Cancelled." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == S.CANCELLED
    assert not failed.items.filter(active=True).exists()


def test_unknown_send_marked_sent_or_not_sent(finance_client, world, finance_user):
    unknown = world["items"]["sends_unknown"]
    response = post(finance_client, "mark_sent", "sends", unknown)
    assert "Marked as sent." in response.content.decode()
    unknown.refresh_from_db()
    assert unknown.status == S.SENT and unknown.sent_at is not None
    other = world["foreign_items"]["sends_unknown"]
    post(finance_client, "cancel", "sends", other, {"reason": "Checked: it never left."})
    other.refresh_from_db()
    assert other.status == S.CANCELLED and other.note == "Checked: it never left."
    # Only an unknown send can be marked as sent.
    failed = world["items"]["sends_failed"]
    response = post(finance_client, "mark_sent", "sends", failed)
    assert "Only a send whose outcome is unknown" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == S.FAILED


# (action, section, the key of a row of another kind): each posts a real row's id
# through a route that is not its own.
WRONG_KIND = [
    ("cancel", "sends", "letters"),  # a letter awaiting approval as a "send"
    ("retry", "sends", "letters"),
    ("mark_sent", "sends", "tasks"),
    ("cancel", "letters", "sends_failed"),  # an email as a letter
    ("approve", "letters", "sends_unknown"),
    ("call", "tasks", "collection"),  # a collection hand-off closed as a call
    ("call", "tasks", "letters"),
    ("postpone", "tasks", "collection"),
    ("handed_over", "collection", "tasks"),  # a call closed as a hand-off
    ("call", "followups", "followups_done"),  # a timeline entry with no next action
    ("call", "promises", "promise_pending"),  # a promise not broken
]


@pytest.mark.parametrize(("name", "section", "key"), WRONG_KIND)
def test_worklist_actions_refuse_a_row_of_another_kind(
    finance_client, world, finance_user, name, section, key
):
    items = world["items"]
    items["followups_done"] = Activity.objects.create(
        customer=world["owned"], kind=Activity.Kind.NOTE, author=finance_user, summary="FYI"
    )
    items["promise_pending"] = PromiseToPay.objects.create(
        customer=world["owned"],
        promised_date=days(5),
        amount=Decimal("100.00"),
        recorded_by=finance_user,
    )
    obj = items[key]
    model = type(obj)
    before = list(model.objects.order_by("pk").values())
    activities = Activity.objects.count()
    data = {"outcome": "x", "until": days(3).isoformat(), "reason": "wrong route"}
    for htmx in (True, False):
        response = post(finance_client, name, section, obj, data, htmx=htmx)
        assert response.status_code == 404, (name, section, key)
    assert list(model.objects.order_by("pk").values()) == before
    assert Activity.objects.count() == activities


def test_cancelling_a_send_records_who_cancelled_it(finance_client, world, finance_user):
    failed = world["items"]["sends_failed"]
    response = post(finance_client, "cancel", "sends", failed, {"reason": "Wrong address"})
    assert "Cancelled." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == S.CANCELLED and failed.actor == finance_user
    entry = Activity.objects.get(customer=failed.customer, outcome="cancelled")
    assert entry.author == finance_user and entry.kind == Activity.Kind.EMAIL
    assert entry.body == "Wrong address" and "cancelled" in entry.summary


def test_collection_handed_over(finance_client, world, finance_user):
    task = world["items"]["collection"]
    response = post(finance_client, "handed_over", "collection", task)
    assert "Marked as handed over." in response.content.decode()
    task.refresh_from_db()
    assert task.status == S.DONE and task.done_by == finance_user
    assert Activity.objects.filter(customer=task.customer, summary__contains="collection").exists()


def test_resolve_a_dispute(finance_client, world, finance_user):
    dispute = world["items"]["disputes"]
    response = post(finance_client, "resolve", "disputes", dispute, {"resolution": "Credit note"})
    assert "Dispute resolved." in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.resolved_by == finance_user and dispute.resolution == "Credit note"


def test_call_on_a_broken_promise_takes_it_off_the_list(finance_client, world, finance_user):
    promise = world["items"]["promises"]
    response = post(finance_client, "call", "promises", promise, {"outcome": "New date given"})
    assert "worklist-done" in response.content.decode()
    assert promise not in dashboard.broken_promises(user=finance_user, today=today())


def test_call_on_a_state_row_keeps_the_row_with_a_message(finance_client, world):
    """A credit alert or a dispute stays on the list after a call: the row comes back
    with the message, not a "done" line."""
    owned = world["owned"]
    response = post(finance_client, "call", "credit", owned, {"outcome": "Asked to pay"})
    html = response.content.decode()
    assert f'id="wl-credit-{owned.pk}"' in html and "Call logged." in html
    dispute = world["items"]["disputes"]
    response = post(finance_client, "call", "disputes", dispute, {"outcome": "Waiting"})
    assert f'id="wl-disputes-{dispute.pk}"' in response.content.decode()
    assert Activity.objects.filter(customer=owned, kind="call", author__isnull=False).count() == 3


def test_plain_post_redirects_back_with_a_message(finance_client, world):
    task = world["items"]["tasks"]
    back = reverse("workplaces:dashboard_section", args=["tasks"])
    response = post(
        finance_client, "call", "tasks", task, {"outcome": "Reached", "next": back}, htmx=False
    )
    assert response.status_code == 302 and response["Location"] == back
    # An outside address is never followed.
    other = world["foreign_items"]["tasks"]
    response = post(
        finance_client,
        "call",
        "tasks",
        other,
        {"outcome": "Reached", "next": "https://evil.example/"},
        htmx=False,
    )
    assert response["Location"] == DASHBOARD


@pytest.mark.parametrize(
    ("name", "section"),
    [("approve", "tasks"), ("retry", "letters"), ("call", "sent"), ("call", "nonsense")],
)
def test_an_action_outside_its_sections_is_404(finance_client, world, name, section):
    obj = world["items"]["tasks"]
    assert post(finance_client, name, section, obj).status_code == 404


# --- permissions -------------------------------------------------------------------------

PAGES = [("workplaces:dashboard", []), ("workplaces:dashboard_section", ["disputes"])]
PAGE_STATUS = {"owner": 403, "other_sales": 403, "finance": 200, "manager": 200}
# (action, section, item key) for every worklist action.
ACTIONS = [
    ("call", "tasks", "tasks", {"outcome": "x"}),
    ("postpone", "followups", "followups", {"until": "2099-01-01"}),
    ("approve", "letters", "letters", {}),
    ("cancel", "letters", "letters", {}),
    ("retry", "sends", "sends_failed", {}),
    ("cancel", "sends", "sends_failed", {}),
    ("mark_sent", "sends", "sends_unknown", {}),
    ("handed_over", "collection", "collection", {}),
    ("resolve", "disputes", "disputes", {}),
    ("call", "promises", "promises", {"outcome": "x"}),
]
ACTION_STATUS = {"owner": 403, "other_sales": 404, "finance": 200, "manager": 403}


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_pages_permission_matrix(client, world, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302 and urlsplit(response["Location"]).path == "/login/"
    for role, expected in PAGE_STATUS.items():
        client.force_login(world["users"][role])
        assert client.get(url).status_code == expected, role


def test_manager_sees_the_dashboard_read_only(client, world):
    client.force_login(world["users"]["manager"])
    html = client.get(DASHBOARD).content.decode()
    assert "Read-only" in html and "hx-post" not in html


def test_unknown_section_page_is_404(finance_client, world):
    url = reverse("workplaces:dashboard_section", args=["nonsense"])
    assert finance_client.get(url).status_code == 404


@pytest.mark.parametrize(("name", "section", "key", "data"), ACTIONS)
def test_actions_permission_matrix(client, world, name, section, key, data):
    obj = world["items"][key]
    url = reverse(f"workplaces:worklist_{name}", args=[section, obj.pk])
    response = client.post(url, data, headers=HTMX)
    assert response.status_code == 302 and "/login/" in response["Location"]
    for role in ("other_sales", "owner", "manager", "finance"):
        client.force_login(world["users"][role])
        response = client.post(url, data, headers=HTMX)
        assert response.status_code == ACTION_STATUS[role], (name, role)


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("finance", "/customers/dashboard/"),
        ("owner", "/customers/mine/"),
        ("manager", "/reports/"),
        (None, "/customers/"),
    ],
)
def test_home_sends_each_role_to_its_page(client, world, role, target):
    user = world["users"][role] if role else make_user(None, "norole_t")
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == target


# --- the "see all" pages -----------------------------------------------------------------


def test_section_page_paginates_with_the_same_rows(finance_client, world, finance_user):
    customer = world["owned"]
    for i in range(30):
        Activity.objects.create(
            customer=CustomerFactory(),
            kind="note",
            author=finance_user,
            summary=f"Follow {i}",
            next_action_date=days(-1),
        )
    url = reverse("workplaces:dashboard_section", args=["followups"])
    response = finance_client.get(url)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.paginator.count == 32 and len(response.context["items"]) == 25
    second = finance_client.get(url, {"page": 2}, headers=HTMX)
    html = second.content.decode()
    assert "<html" not in html and 'id="worklist-rows"' in html
    assert len(second.context["items"]) == 7
    assert customer.name  # the owned customer's follow-up is one of them


# --- query counts ------------------------------------------------------------------------


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_queries_do_not_grow_with_the_worklist(finance_client, finance_user, db):
    from tests.factories import make_company_profile

    make_company_profile()
    made: list = []

    def grow(size):
        while len(made) < size:
            c = make_reminder_customer(
                f"Q{len(made):03d}", credit_limit=Decimal("1.00"), insured_cover=Decimal("1.00")
            )
            ContactFactory(customer=c, phone="0102030405")
            add_worklist_items(c, finance_user, tag=str(len(made)))
            made.append(c)

    counts = []
    for size in (2, 12):  # below and above the cap of a section
        grow(size)
        counts.append(
            (
                count_queries(finance_client, DASHBOARD),
                count_queries(finance_client, DASHBOARD, {"part": "totals"}),
            )
        )
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("section", dashboard.SECTION_KEYS)
def test_section_page_queries_do_not_grow(finance_client, finance_user, section, db):
    made: list = []

    def grow(size):
        while len(made) < size:
            c = make_reminder_customer(f"P{len(made):03d}", credit_limit=Decimal("1.00"))
            add_worklist_items(c, finance_user, tag=str(len(made)))
            made.append(c)

    url = reverse("workplaces:dashboard_section", args=[section])
    counts = []
    for size in (2, 6):
        grow(size)
        counts.append(count_queries(finance_client, url))
    assert counts[0] == counts[1], counts


# --- the customer page: where a call is prepared ----------------------------------------


def test_payment_behaviour_is_weighted_by_amount(sales_user):
    c = CustomerFactory(sales_rep=sales_user)
    invoice = make_invoice(c, issue_date=days(-60), due_date=days(-30), amount="1000.00")
    make_payment(c, date=days(-32), amount="600.00", invoice=invoice)  # 2 days early: 0 late
    make_payment(c, date=days(-20), amount="400.00", invoice=invoice)  # 10 days late
    old = make_invoice(c, issue_date=days(-500), due_date=days(-470), amount="50.00")
    make_payment(c, date=days(-400), amount="50.00", invoice=old)  # older than 12 months
    b = payment_behaviour(customer=c, as_of=today())
    assert b.paid == Decimal("1000.00")
    assert b.average_days_late == Decimal("4.0")  # 400 × 10 / 1000
    assert b.on_time_share == Decimal("0.6000") and b.on_time_percent == Decimal("60")
    nothing = payment_behaviour(customer=CustomerFactory(), as_of=today())
    assert nothing.average_days_late is None and nothing.on_time_share is None


def test_timeline_merges_every_source_newest_first(finance_user, world):
    owned = world["owned"]
    make_payment(owned, date=days(-1), amount="100.00", reference="VIR-9")
    from reminders import services

    services.dispute_resolve(dispute=world["items"]["disputes"], user=finance_user)
    timeline = customer_timeline(customer=owned)
    kinds = [e.kind for e in timeline.entries]
    for kind in ("activity", "payment", "reminder", "dispute_opened", "dispute_resolved"):
        assert kind in kinds, kind
    assert "promise" in kinds
    whens = [e.when for e in timeline.entries]
    assert whens == sorted(whens, reverse=True)
    # The journal's echo of the resolution is not shown twice.
    assert not any(e.kind == "activity" and e.obj.kind == "dispute" for e in timeline.entries)


def test_timeline_pages(finance_user):
    c = CustomerFactory()
    for i in range(30):
        Activity.objects.create(customer=c, kind="note", summary=f"Note {i}", occurred_at=ago(i))
    first = customer_timeline(customer=c, page=1, per_page=25)
    second = customer_timeline(customer=c, page=2, per_page=25)
    assert [e.obj.summary for e in first.entries][:2] == ["Note 0", "Note 1"]
    assert first.next_page == 2 and second.next_page is None
    assert [e.obj.summary for e in second.entries] == [f"Note {i}" for i in range(25, 30)]


def test_customer_page_prepares_the_call(finance_client, world):
    owned = world["owned"]
    response = finance_client.get(owned.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        'href="tel:0472000001"',
        'href="mailto:owned@client.example"',
        "Payment behaviour",
        "Reminder log",
        "Last reminder",  # the phone task's step, in the log and the timeline (in English)
        reverse("reminders:customer_actions", args=[owned.pk]),  # the actions panel
        "Over credit limit",
    ):
        assert text in html, text
    log = response.context["reminder_log"]
    assert log.paginator.count == 6
    fragment = finance_client.get(
        owned.get_absolute_url(), {"part": "timeline", "timeline": 1}, headers=HTMX
    )
    assert "<html" not in fragment.content.decode() and 'id="timeline"' in fragment.content.decode()
    fragment = finance_client.get(owned.get_absolute_url(), {"part": "reminder_log"}, headers=HTMX)
    assert 'id="reminder-log"' in fragment.content.decode()


def test_customer_page_fragments_are_scoped(client, world):
    client.force_login(world["users"]["other_sales"])
    url = world["owned"].get_absolute_url()
    assert client.get(url, {"part": "timeline"}, headers=HTMX).status_code == 404


def test_customer_page_queries_do_not_grow(finance_client, finance_user, sales_user):
    c = make_reminder_customer("GROW", sales_rep=sales_user)
    made: list = []

    def grow(size):
        while len(made) < size:
            i = len(made)
            inv = make_invoice(c, issue_date=days(-80), due_date=days(-50), amount="300.00")
            make_payment(c, date=days(-10), amount="50.00", invoice=inv)
            reminder(c, C.EMAIL, S.SENT, sent_at=ago(i), actor=finance_user)
            reminder(c, C.PHONE, S.DONE, position=3, done_by=finance_user, done_at=ago(i))
            Dispute.objects.create(
                invoice=inv, reason="price", opened_by=finance_user, resolved_at=ago(1)
            )
            p = PromiseToPay.objects.create(
                customer=c, promised_date=days(5), amount="10.00", recorded_by=finance_user
            )
            p.invoices.add(inv)
            Activity.objects.create(customer=c, kind="call", summary=f"C{i}", author=finance_user)
            made.append(i)

    counts = []
    for size in (2, 30):
        grow(size)
        counts.append(count_queries(finance_client, c.get_absolute_url()))
    assert counts[0] == counts[1], counts


def test_calls_to_make_show_the_billing_contacts_phone(finance_client, world):
    html = finance_client.get(DASHBOARD).content.decode()
    task = world["items"]["tasks"]
    row = html.split(f'id="wl-tasks-{task.pk}"', 1)[1].split("</li>", 1)[0]
    assert 'href="tel:0472000001"' in row
    assert "04 72 00 00 01" in row


def test_an_in_place_action_refreshes_the_counters_out_of_band(finance_client, world):
    page = finance_client.get(DASHBOARD).content.decode()
    assert '<span id="wl-count-tasks" class="badge badge-count">2</span>' in page
    assert '<span id="wl-to-do">' in page
    task = world["items"]["tasks"]
    response = post(finance_client, "call", "tasks", task, {"outcome": "No answer"})
    html = response.content.decode()
    assert "worklist-done" in html
    # Every badge comes back, swapped by htmx into the dashboard: the task left its section.
    assert '<span id="wl-count-tasks" class="badge badge-count" hx-swap-oob="true">1</span>' in html
    for key in dashboard.SECTION_KEYS:
        assert f'id="wl-count-{key}"' in html
    counts = dashboard.section_counts(user=world["users"]["finance"], today=today())
    assert counts["tasks"] == 1
    assert f'<span id="wl-to-do" hx-swap-oob="true">{dashboard.to_do(counts)} items' in html
    # A plain post still redirects, with no fragment.
    other = world["foreign_items"]["tasks"]
    plain = finance_client.post(
        reverse("workplaces:worklist_call", args=["tasks", other.pk]), {"outcome": "No answer"}
    )
    assert plain.status_code == 302


@pytest.mark.parametrize(
    ("language", "name"), [("en", "Last reminder"), ("fr", "Dernière relance")]
)
def test_step_names_follow_the_users_language(finance_client, finance_user, world, language, name):
    from customers.models import UserPreferences

    UserPreferences.objects.update_or_create(user=finance_user, defaults={"language": language})
    html = finance_client.get(DASHBOARD).content.decode()
    task = world["items"]["tasks"]
    row = html.split(f'id="wl-tasks-{task.pk}"', 1)[1].split("</li>", 1)[0]
    assert f'<span class="wl-what">{name}</span>' in row


def test_no_link_of_the_dashboard_leads_a_manager_to_a_403(client, world, monkeypatch):
    """Managers read everything: every page the dashboard and a customer's page link to
    answers them, the letters and the recovery file included."""
    import re

    monkeypatch.setattr(  # the recovery file's summary PDF is not what is tested here
        "reminders.letters.recovery.render_pdf", lambda html, **kw: b"%PDF-1.7 fake"
    )
    client.force_login(world["users"]["manager"])
    html = client.get(DASHBOARD).content.decode()
    links = set(re.findall(r'href="(/[^"]*)"', html))
    assert reverse("letters:detail", args=[world["items"]["letters"].pk]) in links
    assert reverse("letters:recovery_file", args=[world["owned"].pk]) in links
    customer_page = client.get(world["owned"].get_absolute_url()).content.decode()
    assert reverse("letters:recovery_file", args=[world["owned"].pk]) in customer_page
    links |= set(re.findall(r'href="(/[^"]*)"', customer_page))
    for link in sorted(links):
        if link.startswith("/static/"):
            continue
        status = client.get(link.replace("&amp;", "&")).status_code
        assert status != 403, link
        assert status in (200, 302), (link, status)


def test_a_sales_reps_customer_page_offers_no_recovery_file(client, world):
    client.force_login(world["users"]["owner"])
    html = client.get(world["owned"].get_absolute_url()).content.decode()
    assert reverse("letters:recovery_file", args=[world["owned"].pk]) not in html
