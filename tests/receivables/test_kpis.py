"""The manager's KPIs against hand-computed figures on a small ledger, their scoping, and
the manager page (permissions, content, query count at two data sizes)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from core import access
from receivables import kpis, services
from receivables.models import Dispute
from tests.factories import CustomerFactory, make_invoice, make_payment, make_user

pytestmark = pytest.mark.django_db
D = Decimal
d = datetime.date
AS_OF = d(2026, 6, 30)
REPORTS = reverse("reports:home")


@pytest.fixture
def reps(db):
    return make_user(access.SALES, "rep_one"), make_user(access.SALES, "rep_two")


@pytest.fixture
def ledger(reps):
    """Five customers, as of 30 June 2026 (figures worked out in each test):

    A (rep one): A0 100.00 due 31 May 2025 paid 30 Jun 2025 (30 days late, just outside
      the 12 months); A1 1000.00 due 9 Feb 2026 paid 19 Feb (10 days late); A2 600.00
      due 14 Jun (open); A3 400.00 due 10 Jul (open); an unmatched credit note of 100.00
      on 15 Jun.
    B (rep two): B1 2000.00 due 31 Mar 2026, 500.00 paid 25 Mar (6 days early, counts
      as on time), 1500.00 paid 28 Apr (28 days late); B2 1200.00 due 1 Aug (open).
    C (rep one): C1 300.00 due 31 Jan 2026, open and disputed.
    D (rep two): D1 500.00 issued 1 Apr (the day the 90-day window starts, excluded),
      due 1 May, open.
    E (rep two): E1 800.00 due 20 Sep, E2 700.00 due 31 Oct, both open, no history.
    """
    one, two = reps
    a = CustomerFactory(customer_ref="A", name="Alpha", sales_rep=one)
    b = CustomerFactory(customer_ref="B", name="Beta", sales_rep=two)
    c = CustomerFactory(customer_ref="C", name="Gamma", sales_rep=one)
    dd = CustomerFactory(customer_ref="D", name="Delta", sales_rep=two)
    e = CustomerFactory(customer_ref="E", name="Epsilon", sales_rep=two)
    make_invoice(a, number="A0", issue_date=d(2025, 5, 1), due_date=d(2025, 5, 31), amount="100")
    make_payment(a, date=d(2025, 6, 30), amount="100.00")
    make_invoice(a, number="A1", issue_date=d(2026, 1, 10), due_date=d(2026, 2, 9), amount="1000")
    make_payment(a, date=d(2026, 2, 19), amount="1000.00")
    make_invoice(c, number="C1", issue_date=d(2026, 1, 1), due_date=d(2026, 1, 31), amount="300")
    c1 = c.invoices.get()
    Dispute.objects.create(invoice=c1, reason=Dispute.Reason.QUALITY)
    make_invoice(b, number="B1", issue_date=d(2026, 3, 1), due_date=d(2026, 3, 31), amount="2000")
    make_payment(b, date=d(2026, 3, 25), amount="500.00")
    make_payment(b, date=d(2026, 4, 28), amount="1500.00")
    make_invoice(dd, number="D1", issue_date=d(2026, 4, 1), due_date=d(2026, 5, 1), amount="500")
    make_invoice(a, number="A2", issue_date=d(2026, 5, 15), due_date=d(2026, 6, 14), amount="600")
    make_invoice(b, number="B2", issue_date=d(2026, 6, 1), due_date=d(2026, 8, 1), amount="1200")
    make_invoice(a, number="A3", issue_date=d(2026, 6, 10), due_date=d(2026, 7, 10), amount="400")
    services.credit_note_create(
        customer=a, number="AV1", issue_date=d(2026, 6, 15), amount=D("100.00")
    )
    make_invoice(e, number="E1", issue_date=d(2026, 6, 20), due_date=d(2026, 9, 20), amount="800")
    make_invoice(e, number="E2", issue_date=d(2026, 6, 25), due_date=d(2026, 10, 31), amount="700")
    return {"A": a, "B": b, "C": c, "D": dd, "E": e}


def test_ledger_totals_and_overdue_share(ledger, finance_user):
    # not due: A 400 - 100 credit, B2 1200, E 1500; 1-30: A2 (16 days); 31-60: D1 (60
    # days); 90+: C1 (150 days).
    t = kpis.ledger_totals(user=finance_user, as_of=AS_OF)
    assert (t.not_due, t.d1_30, t.d31_60, t.d61_90, t.d90_plus) == (
        D("3000.00"),
        D("600.00"),
        D("500.00"),
        D("0.00"),
        D("300.00"),
    )
    assert (t.overdue, t.total) == (D("1400.00"), D("4400.00"))
    assert t.overdue_share == D("0.3182")  # 1400 / 4400
    assert [k for k, _ in t.overdue_buckets] == ["d1_30", "d31_60", "d61_90", "d90_plus"]


def test_dso_simple_90_day_method(ledger, finance_user):
    # Sales in (1 Apr, 30 Jun]: A2 600 + A3 400 - AV1 100 + B2 1200 + E1 800 + E2 700.
    assert kpis.net_sales(user=finance_user, as_of=AS_OF) == D("3600.00")
    # 4400 / 3600 * 90
    assert kpis.days_sales_outstanding(user=finance_user, as_of=AS_OF) == D("110.0")


def test_dso_is_none_without_sales(ledger, finance_user):
    assert kpis.days_sales_outstanding(user=finance_user, as_of=d(2025, 9, 30)) is None


def test_payment_behaviour(ledger, finance_user):
    # A1 1000 x 10 days, B1 500 x 0 (6 days early counts 0), B1 1500 x 28 days; A0 paid
    # on 30 Jun 2025 is outside the 12 months (1 Jul 2025 - 30 Jun 2026).
    b = kpis.payment_behaviour(user=finance_user, as_of=AS_OF)
    assert b.since == d(2025, 7, 1)
    assert b.paid == D("3000.00")
    assert b.average_days_late == D("17.3")  # 52000 / 3000
    assert b.on_time_share == D("0.1667")  # 500 / 3000


def test_payment_behaviour_without_payments(ledger, finance_user):
    b = kpis.payment_behaviour(user=finance_user, as_of=d(2025, 6, 29))
    assert b.paid == D("0.00")
    assert b.average_days_late is None
    assert b.on_time_share is None


def test_collection_forecast(ledger, finance_user):
    # Delays: A 10 days, B 21 days (42000 / 2000), D and E 0 (no history).
    # A2 due 14 Jun: -16 + 10 = -6 -> now (4 weeks); A3 due 10 Jul: 10 + 10 = 20 -> 4 w;
    # D1 due 1 May: -60 -> now (4 w); B2 due 1 Aug: 32 + 21 = 53 -> 8 w;
    # E1 due 20 Sep: 82 -> 12 w; E2 due 31 Oct: 123 -> later; C1 disputed.
    f = kpis.collection_forecast(user=finance_user, as_of=AS_OF)
    assert [(h.weeks, h.amount, h.cumulative) for h in f.horizons] == [
        (4, D("1500.00"), D("1500.00")),
        (8, D("1200.00"), D("2700.00")),
        (12, D("800.00"), D("3500.00")),
    ]
    assert f.later == D("700.00")
    assert f.disputed == D("300.00")


def test_forecast_uses_each_customers_delay(ledger, finance_user):
    # Without B's 21-day delay, B2 (due in 32 days) would land in weeks 5-8 too; moving
    # the as-of date 5 days later makes the difference: 27 + 21 = 48 -> still 8 weeks,
    # while without the delay it would be 27 -> 4 weeks.
    f = kpis.collection_forecast(user=finance_user, as_of=d(2026, 7, 5))
    assert f.horizons[1].amount == D("1200.00")


def test_top_debtors_order_and_limit(ledger, finance_user):
    top = kpis.top_debtors(user=finance_user, as_of=AS_OF)
    assert [(x.customer_ref, x.total, x.overdue) for x in top] == [
        ("E", D("1500.00"), D("0.00")),
        ("B", D("1200.00"), D("0.00")),
        ("A", D("900.00"), D("600.00")),
        ("D", D("500.00"), D("500.00")),
        ("C", D("300.00"), D("300.00")),
    ]
    assert [x.customer_ref for x in kpis.top_debtors(user=finance_user, as_of=AS_OF, limit=2)] == [
        "E",
        "B",
    ]


def test_trend_at_month_ends(ledger, finance_user):
    trend = kpis.outstanding_trend(user=finance_user, as_of=d(2026, 7, 14))
    assert [p.as_of for p in trend] == [
        d(2025, 7, 31),
        d(2025, 8, 31),
        d(2025, 9, 30),
        d(2025, 10, 31),
        d(2025, 11, 30),
        d(2025, 12, 31),
        d(2026, 1, 31),
        d(2026, 2, 28),
        d(2026, 3, 31),
        d(2026, 4, 30),
        d(2026, 5, 31),
        d(2026, 6, 30),
    ]
    points = {p.as_of: p for p in trend}
    assert (points[d(2025, 7, 31)].outstanding, points[d(2025, 7, 31)].dso) == (D("0.00"), None)
    # 31 Jan: A1 1000 and C1 300 not due yet; sales A1 + C1.
    jan = points[d(2026, 1, 31)]
    assert (jan.outstanding, jan.overdue, jan.sales, jan.dso) == (
        D("1300.00"),
        D("0.00"),
        D("1300.00"),
        D("90.0"),
    )
    # 31 Mar: B1 1500 left, due that day; C1 59 days late. Sales A1 + C1 + B1.
    mar = points[d(2026, 3, 31)]
    assert (mar.outstanding, mar.overdue, mar.sales, mar.dso) == (
        D("1800.00"),
        D("300.00"),
        D("3300.00"),
        D("49.1"),
    )
    jun = points[AS_OF]
    assert (jun.outstanding, jun.overdue, jun.dso) == (D("4400.00"), D("1400.00"), D("110.0"))


def test_trend_includes_as_of_when_it_is_a_month_end(ledger, finance_user):
    trend = kpis.outstanding_trend(user=finance_user, as_of=AS_OF, months=3)
    assert [p.as_of for p in trend] == [d(2026, 4, 30), d(2026, 5, 31), AS_OF]


def test_kpis_are_scoped_to_what_the_user_sees(ledger, reps):
    one, _ = reps
    # Rep one sees A and C only.
    t = kpis.ledger_totals(user=one, as_of=AS_OF)
    assert (t.total, t.overdue) == (D("1200.00"), D("900.00"))
    assert [x.customer_ref for x in kpis.top_debtors(user=one, as_of=AS_OF)] == ["A", "C"]
    b = kpis.payment_behaviour(user=one, as_of=AS_OF)
    assert (b.paid, b.average_days_late, b.on_time_share) == (D("1000.00"), D("10.0"), D("0"))
    f = kpis.collection_forecast(user=one, as_of=AS_OF)
    assert [h.amount for h in f.horizons] == [D("1000.00"), D("0.00"), D("0.00")]
    assert f.disputed == D("300.00")
    # Sales: A2 + A3 - AV1; DSO 1200 / 900 * 90.
    assert kpis.days_sales_outstanding(user=one, as_of=AS_OF) == D("120.0")
    assert kpis.outstanding_trend(user=one, as_of=AS_OF)[-1].outstanding == D("1200.00")


def test_nobody_sees_nothing(ledger):
    stranger = make_user(None, "nobody")
    assert kpis.ledger_totals(user=stranger, as_of=AS_OF).total == D("0.00")
    assert kpis.top_debtors(user=stranger, as_of=AS_OF) == []


def test_month_ends():
    assert kpis.month_ends(until=d(2026, 3, 15), count=3) == [
        d(2025, 12, 31),
        d(2026, 1, 31),
        d(2026, 2, 28),
    ]
    assert kpis.month_ends(until=d(2024, 2, 29), count=2) == [d(2024, 1, 31), d(2024, 2, 29)]


# --- The manager page ------------------------------------------------------------------


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.mark.parametrize("role", [access.MANAGER, access.FINANCE])
def test_managers_and_finance_see_the_dashboard(client, ledger, role):
    client.force_login(make_user(role, f"dash_{role}"))
    response = client.get(REPORTS, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Outstanding", "DSO", "Collection forecast", "Top 10 debtors", "<svg"):
        assert text in page
    # Every customer owes something today (the ledger's open invoices): all five are
    # linked to their customer page, largest balance first.
    links = [reverse("workplaces:customer_detail", args=[ledger[ref].pk]) for ref in "ABCDE"]
    assert all(link in page for link in links)


@pytest.mark.parametrize("role", [access.SALES, None])
def test_sales_reps_are_refused(client, ledger, role):
    client.force_login(make_user(role, f"dash_refused_{role}"))
    assert client.get(REPORTS).status_code == 403


def test_dashboard_shows_no_javascript_outside_the_csp(manager_client, ledger):
    page = manager_client.get(REPORTS).content.decode()
    assert "onclick" not in page and "onload" not in page
    assert ' style="' not in page  # inline style attributes are refused by the CSP
    assert "<style nonce=" in page


def _grow_ledger(count: int) -> None:
    for i in range(count):
        customer = CustomerFactory()
        make_invoice(
            customer, issue_date=d(2026, 1, 1) + datetime.timedelta(days=i), amount="120.00"
        )
        make_invoice(customer, issue_date=d(2026, 4, 1), plan="50_50", amount="300.00")
        make_payment(customer, date=d(2026, 3, 1) + datetime.timedelta(days=i), amount="150")


def test_dashboard_query_count_does_not_grow_with_the_ledger(manager_client, ledger):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    manager_client.get(REPORTS)  # warm the session and the groups cache of the user
    with CaptureQueriesContext(connection) as small:
        assert manager_client.get(REPORTS).status_code == 200
    _grow_ledger(12)
    with CaptureQueriesContext(connection) as large:
        assert manager_client.get(REPORTS).status_code == 200
    assert len(small) == len(large)
    assert len(large) <= 30  # five of them: "are the stored figures today's?" (a key read)
