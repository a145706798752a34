"""Query-count baselines: each page runs the same number of queries with 2 rows and with
20, so an N+1 (a lazy load in a template, a per-row aggregate) fails here."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Activity
from receivables.models import Dispute
from tests.factories import ContactFactory, CustomerFactory, make_invoice, make_payment

pytestmark = pytest.mark.django_db
d = datetime.date


def queries(client, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def assert_constant(client, url_fn, grow, sizes=(2, 20), params=None):
    """Grow the data to each size in turn and check the page's query count stays put."""
    counts = []
    for size in sizes:
        grow(size)
        counts.append(queries(client, url_fn(), params))
    assert len(set(counts)) == 1, f"query counts at sizes {sizes}: {counts}"


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    client.get(reverse("workplaces:customer_list"))  # warm the session and the role cache
    return client


def a_customer_with_history(i: int, sales_rep) -> None:
    c = CustomerFactory(sales_rep=sales_rep)
    ContactFactory(customer=c)
    inv = make_invoice(c, issue_date=d(2026, 1, 1), amount=f"{100 + i}.00", plan="50_50")
    make_payment(c, date=d(2026, 2, 15), amount="30.00")
    if i % 3 == 0:
        Dispute.objects.create(invoice=inv, reason=Dispute.Reason.OTHER)


@pytest.fixture
def customers_grower(sales_user):
    made = []

    def grow(size):
        while len(made) < size:
            a_customer_with_history(len(made), sales_user)
            made.append(1)

    return grow


def test_customer_list(finance_client, customers_grower):
    assert_constant(finance_client, lambda: reverse("workplaces:customer_list"), customers_grower)


def test_customer_list_searched_and_sorted(finance_client, customers_grower):
    assert_constant(
        finance_client,
        lambda: reverse("workplaces:customer_list"),
        customers_grower,
        params={"q": "Client", "sort": "-overdue", "overdue": "on"},
    )


def test_customer_list_for_a_sales_rep(client, sales_user, customers_grower):
    client.force_login(sales_user)
    client.get(reverse("workplaces:customer_list"))
    assert_constant(client, lambda: reverse("workplaces:customer_list"), customers_grower)


def test_invoice_list(finance_client, customers_grower):
    assert_constant(finance_client, lambda: reverse("receivables:invoice_list"), customers_grower)


def test_invoice_list_filtered(finance_client, customers_grower, sales_user):
    assert_constant(
        finance_client,
        lambda: reverse("receivables:invoice_list"),
        customers_grower,
        params={"status": "overdue", "sales_rep": sales_user.pk, "q": "Client"},
    )


def test_aged_balance_page(finance_client, customers_grower):
    assert_constant(
        finance_client,
        lambda: reverse("receivables:aged_balance"),
        customers_grower,
        params={"as_of": "2026-04-15"},
    )


@pytest.mark.parametrize("fmt", ["aged_balance_csv", "aged_balance_xlsx"])
def test_aged_balance_downloads(finance_client, customers_grower, fmt):
    assert_constant(
        finance_client,
        lambda: reverse(f"receivables:{fmt}"),
        customers_grower,
        params={"as_of": "2026-04-15"},
    )


def test_customer_page(finance_client, sales_user, finance_user):
    c = CustomerFactory(sales_rep=sales_user)
    made = []

    def grow(size):
        while len(made) < size:
            i = len(made)
            ContactFactory(customer=c)
            inv = make_invoice(c, issue_date=d(2026, 1, 1), amount="300.00", plan="30_30_40")
            if i % 2:
                Dispute.objects.create(invoice=inv, reason=Dispute.Reason.PRICE)
            make_payment(c, date=d(2026, 2, 1), amount="150.00")
            Activity.objects.create(
                customer=c,
                kind=Activity.Kind.CALL,
                summary=f"Call {i}",
                author=finance_user if i % 2 else None,
            )
            made.append(1)

    assert_constant(finance_client, c.get_absolute_url, grow)


def test_invoice_page(finance_client, sales_user):
    c = CustomerFactory(sales_rep=sales_user)
    invoices = {}

    def grow(size):
        # One invoice per size, with ``size`` monthly parts, each part partly paid.
        inv = make_invoice(
            c, issue_date=d(2025, 1, 1), amount=f"{size * 100}.00", plan="monthly", parts=size
        )
        make_payment(c, date=d(2026, 3, 1), amount=f"{size * 50}.00", invoice=inv)
        Dispute.objects.create(invoice=inv, reason=Dispute.Reason.OTHER)
        invoices["current"] = inv

    assert_constant(finance_client, lambda: invoices["current"].get_absolute_url(), grow)


def test_customers_own_page(client, company_profile):
    """The customer's page (the portal): its statement and QR codes at a fixed cost."""
    from customers.portal_links import token_for

    c = CustomerFactory()
    made = []

    def grow(size):
        while len(made) < size:
            inv = make_invoice(c, issue_date=d(2026, 1, 1), amount="300.00", plan="30_30_40")
            if len(made) % 2:
                Dispute.objects.create(invoice=inv, reason=Dispute.Reason.PRICE)
            make_payment(c, date=d(2026, 2, 1), amount="150.00")
            made.append(1)

    assert_constant(client, lambda: f"/p/{token_for(c.pk)}/", grow, sizes=(2, 12))


def test_reminders_preview(finance_client):
    """The 7-day preview: its figures, a day's customers and one customer's days, in a
    fixed number of queries whatever the number of customers due."""
    from tests.factories import make_reminder_customer

    made = []

    def grow(size):
        while len(made) < size:
            n = len(made)
            customer = make_reminder_customer(f"QP{n:03d}")
            due = d(2026, 10, 1) + datetime.timedelta(days=n * 2)
            make_invoice(customer, issue_date=due - datetime.timedelta(days=30), due_date=due)
            make_invoice(
                customer, issue_date=d(2026, 9, 1), due_date=d(2026, 11, 20), amount="50.00"
            )
            made.append(customer)

    url = reverse("reminders:preview")
    assert_constant(finance_client, lambda: url, grow)
    assert_constant(finance_client, lambda: url, grow, sizes=(20, 24), params={"day": "2026-11-20"})
    assert_constant(finance_client, lambda: f"{url}?customer={made[0].pk}", grow, sizes=(24, 30))
