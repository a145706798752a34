"""The aged balance against hand-computed figures, including past as-of dates."""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.money import to_cents
from receivables import services
from receivables.selectors import aged_balance
from tests.factories import CustomerFactory, make_invoice, make_payment

D = Decimal
d = datetime.date
pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today


@pytest.fixture
def ledger():
    """Customer A: 1000.00 on 30/30/40 (due 31 Jan, 28 Feb, 31 Mar), paid 500 on 1 Mar and
    700 on 1 May (200 overpaid). Customer B: 250.00 due 1 Jul 2025, never paid.
    Customer C: 100.00 due 15 Jan and an unmatched credit note of 50.00 on 1 Feb."""
    a = CustomerFactory(customer_ref="A", name="Alpha")
    make_invoice(
        a,
        number="A1",
        issue_date=d(2026, 1, 1),
        due_date=d(2026, 1, 31),
        amount="1000.00",
        plan="30_30_40",
    )
    make_payment(a, date=d(2026, 3, 1), amount="500.00")
    make_payment(a, date=d(2026, 5, 1), amount="700.00")
    b = CustomerFactory(customer_ref="B", name="Beta")
    make_invoice(b, number="B1", issue_date=d(2025, 6, 1), due_date=d(2025, 7, 1), amount="250.00")
    c = CustomerFactory(customer_ref="C", name="Gamma")
    make_invoice(c, number="C1", issue_date=d(2026, 1, 1), due_date=d(2026, 1, 15), amount="100.00")
    services.credit_note_create(
        customer=c, number="AV1", issue_date=d(2026, 2, 1), amount=D("50.00")
    )
    return a, b, c


def rows(as_of):
    return {
        r["customer_ref"]: [
            r[k] for k in ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus", "total")
        ]
        for r in aged_balance(user=None, as_of=as_of).rows
    }


def test_before_any_payment(ledger):
    assert rows(d(2026, 2, 15))["A"] == [D("700.00"), D("300.00"), 0, 0, 0, D("1000.00")]


def test_payment_dated_after_as_of_does_not_count(ledger):
    # As of 15 Mar only the 500 of 1 Mar counts: #1 paid, #2 has 100 left, 15 days late.
    assert rows(d(2026, 3, 15))["A"] == [D("400.00"), D("100.00"), 0, 0, 0, D("500.00")]
    assert rows(d(2026, 4, 15))["A"] == [0, D("400.00"), D("100.00"), 0, 0, D("500.00")]


def test_overpayment_shows_as_negative_not_due(ledger):
    assert rows(d(2026, 6, 1))["A"] == [D("-200.00"), 0, 0, 0, 0, D("-200.00")]


def test_invoices_issued_after_as_of_are_left_out(ledger):
    assert "A" not in rows(d(2025, 12, 31))
    assert "C" not in rows(d(2025, 12, 31))


@pytest.mark.parametrize(
    ("as_of", "column"),
    [
        (d(2025, 7, 1), 0),  # due today: not due
        (d(2025, 7, 2), 1),  # 1 day late
        (d(2025, 7, 31), 1),  # 30 days
        (d(2025, 8, 1), 2),  # 31 days
        (d(2025, 8, 30), 2),  # 60 days
        (d(2025, 8, 31), 3),  # 61 days
        (d(2025, 9, 29), 3),  # 90 days
        (d(2025, 9, 30), 4),  # 91 days
    ],
)
def test_bucket_boundaries(ledger, as_of, column):
    expected = [0] * 5
    expected[column] = D("250.00")
    assert rows(as_of)["B"] == [*expected, D("250.00")]


def test_unmatched_credit_note_counts_from_its_date(ledger):
    assert rows(d(2026, 1, 31))["C"] == [0, D("100.00"), 0, 0, 0, D("100.00")]
    assert rows(d(2026, 2, 10))["C"] == [D("-50.00"), D("100.00"), 0, 0, 0, D("50.00")]


def test_totals_row_and_fully_paid_customers_are_left_out(ledger):
    other = CustomerFactory(customer_ref="Z")
    inv = make_invoice(other, issue_date=d(2026, 1, 1), amount="80.00")
    make_payment(other, date=d(2026, 1, 5), amount="80.00", invoice=inv)
    ab = aged_balance(user=None, as_of=d(2026, 4, 15))
    assert [r["customer_ref"] for r in ab.rows] == ["A", "B", "C"]
    assert ab.totals["total"] == D("500.00") + D("250.00") + D("50.00")
    assert ab.totals["d90_plus"] == D("250.00")


def test_sales_rep_sees_only_their_customers(ledger, sales_user):
    a, _b, _c = ledger
    a.sales_rep = sales_user
    a.save()
    ab = aged_balance(user=sales_user, as_of=d(2026, 4, 15))
    assert [r["customer_ref"] for r in ab.rows] == ["A"]
    assert ab.totals["total"] == D("500.00")


def test_aged_balance_is_one_query_whatever_the_number_of_invoices(ledger):
    with CaptureQueriesContext(connection) as small:
        aged_balance(user=None, as_of=d(2026, 4, 15))
    for i in range(30):
        make_invoice(
            CustomerFactory(), issue_date=d(2026, 1, 1), amount=f"{i + 1}.00", plan="30_30_40"
        )
    with CaptureQueriesContext(connection) as large:
        ab = aged_balance(user=None, as_of=d(2026, 4, 15))
    assert len(ab.rows) == 33
    assert len(small) == len(large) == 1


def test_command_csv_output(ledger):
    out = StringIO()
    call_command("aged_balance", "--as-of", "2026-04-15", stdout=out)
    assert out.getvalue().splitlines() == [
        "customer_ref,customer_name,not_due,d1_30,d31_60,d61_90,d90_plus,total",
        "A,Alpha,0.00,400.00,100.00,0.00,0.00,500.00",
        "B,Beta,0.00,0.00,0.00,0.00,250.00,250.00",
        "C,Gamma,-50.00,0.00,0.00,100.00,0.00,50.00",
        "TOTAL,,-50.00,400.00,100.00,100.00,250.00,800.00",
    ]


def test_command_json_output(ledger):
    out = StringIO()
    call_command("aged_balance", "--as-of", "2026-04-15", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["as_of"] == "2026-04-15"
    assert data["rows"][0] == {
        "customer_ref": "A",
        "customer_name": "Alpha",
        "not_due": "0.00",
        "d1_30": "400.00",
        "d31_60": "100.00",
        "d61_90": "0.00",
        "d90_plus": "0.00",
        "total": "500.00",
    }
    assert data["total"]["total"] == "800.00"


@pytest.mark.parametrize("bad", ["2026-02-30", "15/04/2026x", "yesterday"])
def test_command_refuses_bad_dates(bad):
    with pytest.raises(CommandError, match="as-of"):
        call_command("aged_balance", "--as-of", bad, stdout=StringIO())


@pytest.mark.parametrize("as_of", [d(2026, 5, 1), d(2026, 6, 1), d(2027, 1, 1)])
def test_current_and_past_computations_agree(ledger, as_of):
    """On or after the last payment date, the fast path (paid_amount) and the
    allocation-date path give the same figures."""
    from customers.models import Customer
    from receivables.selectors import BUCKETS, with_balances

    fields = [*BUCKETS, "credit", "total"]
    current = with_balances(Customer.objects.order_by("pk"), as_of, today=as_of).values_list(
        *fields
    )
    past = with_balances(
        Customer.objects.order_by("pk"), as_of, today=as_of + datetime.timedelta(days=1)
    ).values_list(*fields)
    assert [tuple(map(to_cents, r)) for r in current] == [tuple(map(to_cents, r)) for r in past]


def test_aged_balance_page_is_paginated_with_totals_over_every_customer(client, finance_user):
    from receivables.views import AGED_BALANCE_PAGE_SIZE

    for i in range(AGED_BALANCE_PAGE_SIZE + 3):
        make_invoice(
            CustomerFactory(customer_ref=f"P{i:04d}"), issue_date=d(2026, 1, 1), amount="10.00"
        )
    client.force_login(finance_user)
    first = client.get("/receivables/aged-balance/", {"as_of": "2026-04-15"})
    second = client.get("/receivables/aged-balance/", {"as_of": "2026-04-15", "page": 2})
    assert first.context["page"].object_list[0]["customer_ref"] == "P0000"
    assert len(first.context["page"].object_list) == AGED_BALANCE_PAGE_SIZE
    assert [r["customer_ref"] for r in second.context["page"].object_list] == [
        f"P{i:04d}" for i in range(AGED_BALANCE_PAGE_SIZE, AGED_BALANCE_PAGE_SIZE + 3)
    ]
    assert first.context["ab"].totals["total"] == D((AGED_BALANCE_PAGE_SIZE + 3) * 10)


def test_customers_over_credit_limit_counts_open_items_and_credits(sales_user):
    from receivables.selectors import customers_over_credit_limit

    over = CustomerFactory(customer_ref="O1", credit_limit=D("500.00"), sales_rep=sales_user)
    make_invoice(over, issue_date=d(2026, 1, 1), amount="800.00")
    make_payment(over, date=d(2026, 2, 1), amount="200.00")  # 600 left > 500
    under = CustomerFactory(customer_ref="U1", credit_limit=D("500.00"))
    make_invoice(under, issue_date=d(2026, 1, 1), amount="800.00", plan="50_50")
    services.credit_note_create(
        customer=under, number="AV-U1", issue_date=d(2026, 2, 1), amount=D("350.00")
    )
    insured = CustomerFactory(customer_ref="I1", insured_cover=D("100.00"))
    make_invoice(insured, issue_date=d(2026, 1, 1), amount="150.00")
    no_limit = CustomerFactory(customer_ref="N1")
    make_invoice(no_limit, issue_date=d(2026, 1, 1), amount="99999.00")
    assert sorted(customers_over_credit_limit(user=None)) == sorted([over.pk, insured.pk])
    assert customers_over_credit_limit(user=sales_user) == [over.pk]


@pytest.mark.parametrize("as_of", [d(2026, 5, 1), d(2026, 6, 1), d(2027, 1, 1)])
def test_aged_balance_current_statement_agrees_with_the_historical_one(ledger, as_of):
    """From the last payment on, the open-items statement (used for today) and the
    allocation-date statement (used for past dates) give the same rows, including an
    invoice issued later that a payment was already allocated to."""
    a, _b, _c = ledger
    early = make_invoice(
        a, number="A-LATER", issue_date=as_of + datetime.timedelta(days=5), amount="50.00"
    )
    make_payment(a, date=d(2026, 4, 20), amount="30.00", invoice=early)
    current = aged_balance(user=None, as_of=as_of, today=as_of)
    past = aged_balance(user=None, as_of=as_of, today=as_of + datetime.timedelta(days=1))
    assert current.rows == past.rows
    assert current.totals == past.totals


def test_payments_and_credit_notes_cannot_be_dated_in_the_future():
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    customer = CustomerFactory()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError, match="future"):
        make_payment(customer, date=tomorrow, amount="10.00")
    with pytest.raises(ValidationError, match="future"):
        services.credit_note_create(
            customer=customer, number="AV-F", issue_date=tomorrow, amount=D("5")
        )
