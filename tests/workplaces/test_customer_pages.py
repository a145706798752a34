"""The customer list (search, filter, sort, pagination, htmx fragment) and the customer
page (identity, balances, contacts, installments, payments, timeline)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity, Contact
from receivables.models import Dispute
from tests.factories import ContactFactory, CustomerFactory, make_invoice, make_payment

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("workplaces:customer_list")


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def book(sales_user):
    """Three customers: Alpha owes 300 overdue, Beta owes 500 not yet due, Gamma owes
    nothing (fully paid)."""
    alpha = CustomerFactory(name="Alpha Industries", customer_ref="411ALPHA", sales_rep=sales_user)
    make_invoice(alpha, issue_date=days(-60), due_date=days(-30), amount="300.00")
    beta = CustomerFactory(name="Beta Services", customer_ref="411BETA")
    make_invoice(beta, issue_date=days(-5), due_date=days(25), amount="500.00")
    gamma = CustomerFactory(name="Gamma Conseil", customer_ref="411GAMMA")
    make_invoice(gamma, issue_date=days(-40), due_date=days(-10), amount="80.00")
    make_payment(gamma, date=days(-3), amount="80.00")
    return alpha, beta, gamma


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


def test_home_is_the_dashboard_for_finance_staff(finance_client):
    response = finance_client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("workplaces:dashboard")


def test_list_shows_balances_and_sales_rep(finance_client, book):
    response = finance_client.get(LIST)
    assert response.status_code == 200
    assert names(response) == ["Alpha Industries", "Beta Services", "Gamma Conseil"]
    alpha = response.context["page"].object_list[0]
    assert (alpha.total, alpha.overdue) == (Decimal("300.00"), Decimal("300.00"))
    html = response.content.decode()
    assert "sales_t" in html
    assert "<html" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [("alpha", ["Alpha Industries"]), ("411BET", ["Beta Services"]), ("zzz", [])],
)
def test_search_on_name_and_reference(finance_client, book, query, expected):
    assert names(finance_client.get(LIST, {"q": query})) == expected


def test_overdue_only(finance_client, book):
    assert names(finance_client.get(LIST, {"overdue": "on"})) == ["Alpha Industries"]


def test_sort_by_balance_and_overdue(finance_client, book):
    assert names(finance_client.get(LIST, {"sort": "-balance"})) == [
        "Beta Services",
        "Alpha Industries",
        "Gamma Conseil",
    ]
    assert names(finance_client.get(LIST, {"sort": "-overdue"}))[0] == "Alpha Industries"
    assert names(finance_client.get(LIST, {"sort": "-name"}))[0] == "Gamma Conseil"
    # An unknown sort key falls back to the name, not an error.
    assert names(finance_client.get(LIST, {"sort": "pk; drop"}))[0] == "Alpha Industries"


def test_pagination_by_fifty(finance_client):
    CustomerFactory.create_batch(51)
    first = finance_client.get(LIST)
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.num_pages == 2
    second = finance_client.get(LIST, {"page": 2})
    assert len(second.context["page"].object_list) == 1
    assert 'rel="next"' in first.content.decode()


def test_htmx_request_returns_the_table_fragment_only(finance_client, book):
    response = finance_client.get(LIST, {"q": "alpha"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<nav class="mainnav"' not in html
    assert html.lstrip().startswith('<div id="customer-table"')
    assert "Alpha Industries" in html
    assert "Beta Services" not in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("header", ["HTTP_HX_BOOSTED", "HTTP_HX_HISTORY_RESTORE_REQUEST"])
def test_boosted_and_history_restore_requests_get_the_whole_page(finance_client, book, header):
    response = finance_client.get(LIST, **HTMX, **{header: "true"})
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_full_page_also_varies_on_hx_request(finance_client, book):
    assert "HX-Request" in finance_client.get(LIST)["Vary"]


def test_page_loads_htmx_from_static_with_the_csp_nonce(finance_client, book):
    response = finance_client.get(LIST)
    html = response.content.decode()
    nonce = str(response.context["csp_nonce"])
    assert f'src="/static/js/htmx.min.js" nonce="{nonce}"' in html
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    assert "style=" not in html
    assert "includeIndicatorStyles" in html


@pytest.fixture
def full_customer(sales_user, finance_user):
    c = CustomerFactory(
        name="Delta Bâtiment",
        siren="732829320",
        vat_number="FR44732829320",
        sales_rep=sales_user,
        credit_limit=Decimal("5000.00"),
        insured_cover=Decimal("4000.00"),
        reminders_paused_until=days(10),
        direct_debit=True,
    )
    ContactFactory(
        customer=c,
        name="Claire Compta",
        email="claire@delta.example",
        phone="04 72 00 00 01",
        reminder_role=Contact.ReminderRole.TO,
        po_required=True,
        invoice_channel=Contact.InvoiceChannel.PORTAL,
        invoice_instructions="Chorus Pro, service FACT01",
    )
    ContactFactory(customer=c, name="Denis DAF", reminder_role=Contact.ReminderRole.CC)
    inv = make_invoice(
        c,
        number="FA-2026-0042",
        issue_date=days(-70),
        due_date=days(-40),
        amount="900.00",
        plan="30_30_40",
    )
    Dispute.objects.create(invoice=inv, reason=Dispute.Reason.PRICE, opened_by=finance_user)
    make_payment(c, date=days(-20), amount="300.00", reference="VIR-123")
    Activity.objects.create(
        customer=c,
        kind=Activity.Kind.CALL,
        author=finance_user,
        summary="Called the accountant",
        occurred_at=timezone.now() - datetime.timedelta(days=2),
    )
    Activity.objects.create(customer=c, kind=Activity.Kind.NOTE, summary="Newest note")
    return c


def test_customer_page(finance_client, full_customer):
    response = finance_client.get(full_customer.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Delta Bâtiment",
        "732829320",
        "FR44732829320",
        "sales_t",
        'href="mailto:claire@delta.example"',
        'href="tel:0472000001"',
        "Chorus Pro, service FACT01",
        "FA-2026-0042",
        "2/3",
        "3/3",
        "VIR-123",
        "Called the accountant",
        "finance_t",
    ):
        assert text in html, text
    assert "badge-dispute" in html
    data = response.context["data"]
    # 900 on 30/30/40 is 270/270/360: the 300 paid part 1 and 30 of part 2.
    assert [i.sequence for i in data.open_installments] == [2, 3]
    assert data.open_left == Decimal("600.00")
    assert response.context["c"].total == Decimal("600.00")
    assert [a.summary for a in data.activities] == ["Newest note", "Called the accountant"]
    allocations = data.payments[0].allocations.all()
    assert [(a.installment.sequence, a.amount) for a in allocations] == [
        (1, Decimal("270.00")),
        (2, Decimal("30.00")),
    ]
    assert html.index("Newest note") < html.index("Called the accountant")


def test_customer_page_unknown_customer_is_404(finance_client):
    assert (
        finance_client.get(reverse("workplaces:customer_detail", args=[999999])).status_code == 404
    )
