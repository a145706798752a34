"""The sales rep's view (workplaces:sales): only their clients, riskiest first, with the
last reminder and the scenario's next step; a note or a promise to pay in place; and
nothing else a rep may do (no ledger edits, no sends, no approvals)."""

import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import access
from customers.models import Activity
from receivables.models import Dispute, PromiseToPay
from reminders import services
from reminders.models import Reminder, ScenarioStep
from tests.factories import CustomerFactory, make_invoice, make_reminder_customer, make_user
from workplaces.selectors import sales

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
HTMX = {"HX-Request": "true"}
SALES = reverse("workplaces:sales")


def today() -> datetime.date:
    return timezone.localdate()


def days(n: int) -> datetime.date:
    return today() + datetime.timedelta(days=n)


@pytest.fixture
def client(client):
    """Pages in English, the source language the assertions are written in."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def book(sales_user, other_sales_user):
    """Three clients of sales_user (risk order: Beta, Alpha, Gamma) and one of another rep."""
    alpha = CustomerFactory(name="Alpha", customer_ref="411A", sales_rep=sales_user)
    make_invoice(alpha, issue_date=days(-40), due_date=days(-10), amount="300.00")
    make_invoice(alpha, issue_date=days(-5), due_date=days(25), amount="5000.00")
    beta = CustomerFactory(name="Beta", customer_ref="411B", sales_rep=sales_user)
    make_invoice(beta, issue_date=days(-60), due_date=days(-30), amount="900.00")
    gamma = CustomerFactory(name="Gamma", customer_ref="411G", sales_rep=sales_user)
    make_invoice(gamma, issue_date=days(-5), due_date=days(25), amount="700.00")
    other = CustomerFactory(name="Other", customer_ref="411O", sales_rep=other_sales_user)
    make_invoice(other, issue_date=days(-60), due_date=days(-30), amount="99999.00")
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "other": other}


def make_finance():
    return make_user(access.FINANCE, "finance_next")


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


def test_a_rep_sees_only_their_clients_riskiest_first(client, sales_user, book):
    client.force_login(sales_user)
    response = client.get(SALES)
    assert response.status_code == 200
    assert names(response) == ["Beta", "Alpha", "Gamma"]  # overdue desc, then balance
    beta, alpha, gamma = response.context["page"].object_list
    assert (beta.total, beta.overdue) == (Decimal("900.00"), Decimal("900.00"))
    assert (alpha.total, alpha.overdue) == (Decimal("5300.00"), Decimal("300.00"))
    assert (gamma.total, gamma.overdue) == (Decimal("700.00"), Decimal("0.00"))
    html = response.content.decode()
    assert "Other" not in html and "99,999" not in html and "99 999" not in html
    # A rep cannot widen the list from the query string.
    other_rep = book["other"].sales_rep
    response = client.get(SALES, {"rep": other_rep.pk})
    assert names(response) == ["Beta", "Alpha", "Gamma"]


def test_finance_and_managers_may_pick_a_rep(client, finance_user, manager_user, sales_user, book):
    for user in (finance_user, manager_user):
        client.force_login(user)
        response = client.get(SALES)
        assert names(response) == ["Other", "Beta", "Alpha", "Gamma"]
        response = client.get(SALES, {"rep": sales_user.pk}, headers=HTMX)
        assert names(response) == ["Beta", "Alpha", "Gamma"]
        assert b"<html" not in response.content and b'id="sales-table"' in response.content
    client.force_login(manager_user)
    html = client.get(SALES).content.decode()
    assert "Add a note" not in html  # a manager reads only


def test_last_reminder_and_next_step(client, sales_user, company_profile):
    """After step 1 went out, the next step is step 2, one scenario spacing later; a
    paused customer says so; an exempt one has no next step."""
    first = make_reminder_customer("NEXT", sales_rep=sales_user)
    due = days(-3)
    make_invoice(first, issue_date=due - datetime.timedelta(days=30), due_date=due)
    services.reminder_send_now(customer=first, user=make_finance())
    exempt = make_reminder_customer("EXEMPT", sales_rep=sales_user, reminders_exempt=True)
    make_invoice(exempt, issue_date=due - datetime.timedelta(days=30), due_date=due)
    fresh = make_reminder_customer("FRESH", sales_rep=sales_user)
    make_invoice(fresh, issue_date=days(-1), due_date=days(20))
    paused = make_reminder_customer("PAUSED", sales_rep=sales_user, reminders_paused_until=days(5))
    make_invoice(paused, issue_date=due - datetime.timedelta(days=30), due_date=due)
    client.force_login(sales_user)
    response = client.get(SALES)
    rows = {c.customer_ref: c for c in response.context["page"].object_list}
    step1, step2 = (ScenarioStep.objects.get(scenario__is_default=True, position=p) for p in (1, 2))
    assert rows["NEXT"].last_sent_step == step1.name
    assert timezone.localdate(rows["NEXT"].last_sent_at) == today()
    spacing = step2.offset_days - step1.offset_days
    assert rows["NEXT"].next_step.name == step2.display_name
    assert rows["NEXT"].next_step.on == max(
        today() + datetime.timedelta(days=spacing), due + datetime.timedelta(days=step2.offset_days)
    )
    assert rows["EXEMPT"].next_step is None
    assert rows["FRESH"].next_step.name == step1.display_name
    assert rows["FRESH"].next_step.on == days(20) + datetime.timedelta(days=step1.offset_days)
    assert rows["PAUSED"].next_step is None  # the daily run reminds nobody paused
    html = response.content.decode()
    assert 'lang="en"' in html and step2.label("en") in html  # the English interface's names
    assert rows["NEXT"].last_sent_step_label == step1.label("en") == "First reminder"
    assert "Exempt from reminders" in html and "paused until" in html


def test_next_step_waits_for_a_pending_one(sales_user):
    c = CustomerFactory(sales_rep=sales_user)
    invoice = make_invoice(c, issue_date=days(-80), due_date=days(-50))
    letter = Reminder.objects.create(
        customer=c,
        step=ScenarioStep.objects.get(scenario__is_default=True, position=4),
        channel=Reminder.Channel.LETTER,
        status=Reminder.Status.AWAITING_APPROVAL,
        run_date=today(),
    )
    letter.items.create(
        installment=invoice.installments.get(), step=letter.step, amount_left=1, days_late=50
    )
    rows = list(sales.sales_customers(user=sales_user, today=today()))
    sales.next_steps(rows, today())
    step5 = ScenarioStep.objects.get(scenario__is_default=True, position=5)
    assert rows[0].next_step.name == step5.display_name and rows[0].next_step.pending


def test_a_rep_adds_a_note_and_a_promise_in_place(client, sales_user, book):
    alpha = book["alpha"]
    client.force_login(sales_user)
    html = client.get(SALES).content.decode()
    note_url = reverse("reminders:log_call", args=[alpha.pk])
    promise_url = reverse("reminders:record_promise", args=[alpha.pk])
    assert note_url in html and promise_url in html
    # The forms load on demand (htmx), then post in place.
    form = client.get(note_url, headers=HTMX)
    assert form.status_code == 200 and b"<form" in form.content and b"<html" not in form.content
    response = client.post(note_url, {"kind": "note", "summary": "Met the CFO"}, headers=HTMX)
    assert response.status_code == 200 and b"Logged." in response.content
    note = Activity.objects.get(customer=alpha, kind="note")
    assert note.author == sales_user and note.summary == "Met the CFO"
    response = client.post(
        promise_url,
        {"promised_date": days(10).isoformat(), "amount": "300.00", "note": "Heard at lunch"},
        headers=HTMX,
    )
    assert response.status_code == 200 and b"Promise recorded." in response.content
    promise = PromiseToPay.objects.get(customer=alpha)
    assert promise.recorded_by == sales_user and promise.amount == Decimal("300.00")


def test_a_rep_cannot_note_on_someone_elses_client(client, sales_user, book):
    other = book["other"]
    client.force_login(sales_user)
    for name in ("log_call", "record_promise"):
        url = reverse(f"reminders:{name}", args=[other.pk])
        assert client.get(url, headers=HTMX).status_code == 404
        assert client.post(url, {"kind": "note", "summary": "x"}, headers=HTMX).status_code == 404
    assert not Activity.objects.filter(customer=other).exists()


def test_a_rep_can_do_nothing_else(client, sales_user, finance_user, book, company_profile):
    """No sends, pauses, disputes, approvals or worklist actions, even on their own
    client (403); nothing on another rep's (404); no ledger edits (the admin refuses)."""
    alpha, other = book["alpha"], book["other"]
    invoice = alpha.invoices.first()
    letter = Reminder.objects.create(
        customer=alpha,
        step=ScenarioStep.objects.get(scenario__is_default=True, position=4),
        channel=Reminder.Channel.LETTER,
        status=Reminder.Status.AWAITING_APPROVAL,
        run_date=today(),
    )
    dispute = Dispute.objects.create(invoice=invoice, reason=Dispute.Reason.PRICE)
    client.force_login(sales_user)
    forbidden = [
        (reverse("reminders:send_now", args=[alpha.pk]), {}),
        (reverse("reminders:pause", args=[alpha.pk]), {"until": days(3).isoformat()}),
        (reverse("reminders:open_dispute", args=[alpha.pk]), {"invoice": invoice.pk}),
        (reverse("reminders:resolve_dispute", args=[dispute.pk]), {}),
        (reverse("letters:approve", args=[letter.pk]), {}),
        (reverse("workplaces:worklist_approve", args=["letters", letter.pk]), {}),
        (reverse("workplaces:worklist_call", args=["credit", alpha.pk]), {"outcome": "x"}),
        (reverse("workplaces:worklist_resolve", args=["disputes", dispute.pk]), {}),
    ]
    for url, data in forbidden:
        assert client.post(url, data, headers=HTMX).status_code == 403, url
    assert client.get(reverse("workplaces:dashboard")).status_code == 403
    not_found = [
        reverse("reminders:send_now", args=[other.pk]),
        reverse("workplaces:worklist_call", args=["credit", other.pk]),
    ]
    for url in not_found:
        assert client.post(url, {"outcome": "x"}, headers=HTMX).status_code == 404, url
    assert client.get(reverse("workplaces:customer_detail", args=[other.pk])).status_code == 404
    for path in ("/admin/receivables/invoice/add/", "/admin/receivables/payment/add/"):
        assert client.get(path).status_code == 302  # to the admin login: not staff
    letter.refresh_from_db()
    dispute.refresh_from_db()
    assert letter.status == Reminder.Status.AWAITING_APPROVAL and dispute.is_open
    assert not Reminder.objects.filter(status=Reminder.Status.SENT).exists()
    assert not Activity.objects.filter(author=sales_user).exists()


@pytest.mark.parametrize(
    ("role", "status", "sees_owned"),
    [
        ("owner", 200, True),
        ("other_sales", 200, False),
        ("finance", 200, True),
        ("manager", 200, True),
    ],
)
def test_permission_matrix(
    client, sales_user, other_sales_user, finance_user, manager_user, book, role, status, sees_owned
):
    users = {
        "owner": sales_user,
        "other_sales": other_sales_user,
        "finance": finance_user,
        "manager": manager_user,
    }
    client.force_login(users[role])
    response = client.get(SALES)
    assert response.status_code == status
    assert ("Alpha" in names(response)) is sees_owned


def test_anonymous_is_sent_to_login(client, book):
    response = client.get(SALES)
    assert response.status_code == 302 and urlsplit(response["Location"]).path == "/login/"


def test_queries_do_not_grow_with_the_clients(client, sales_user, company_profile):
    made: list = []
    finance = make_finance()

    def grow(size):
        while len(made) < size:
            i = len(made)
            c = make_reminder_customer(f"S{i:03d}", sales_rep=sales_user)
            due = days(-3 - i)
            make_invoice(c, issue_date=due - datetime.timedelta(days=30), due_date=due)
            make_invoice(c, issue_date=days(-1), due_date=days(29), plan="50_50")
            if i % 2:
                services.reminder_send_now(customer=c, user=finance)
            made.append(c)

    client.force_login(sales_user)
    counts = []
    for size in (2, 20):
        grow(size)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(SALES)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
