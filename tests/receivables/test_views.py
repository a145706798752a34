"""Invoice list (statuses, filters, htmx fragment), invoice page, aged balance page and its
CSV / XLSX downloads against hand-computed figures."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import UserPreferences
from receivables import services
from receivables.exports import aged_balance_csv, aged_balance_xlsx
from receivables.models import Dispute
from receivables.selectors import aged_balance
from tests.factories import CustomerFactory, make_invoice, make_payment, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
D = Decimal
d = datetime.date
HTMX = {"HTTP_HX_REQUEST": "true"}
INVOICES = reverse("receivables:invoice_list")
AGED = reverse("receivables:aged_balance")
CSV = reverse("receivables:aged_balance_csv")
XLSX = reverse("receivables:aged_balance_xlsx")


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def invoices(sales_user, other_sales_user):
    """One invoice (or credit note) per status, at two customers of two sales reps."""
    acme = CustomerFactory(name="Acme", customer_ref="411ACME", sales_rep=sales_user)
    zeta = CustomerFactory(name="Zeta", customer_ref="411ZETA", sales_rep=other_sales_user)
    open_ = make_invoice(acme, number="OPEN", issue_date=days(-5), due_date=days(25))
    overdue = make_invoice(acme, number="LATE", issue_date=days(-60), due_date=days(-30))
    paid = make_invoice(zeta, number="PAID", issue_date=days(-60), due_date=days(-30), amount="50")
    make_payment(zeta, date=days(-2), amount="50.00", invoice=paid)
    disputed = make_invoice(zeta, number="DISP", issue_date=days(-60), due_date=days(-20))
    Dispute.objects.create(invoice=disputed, reason=Dispute.Reason.QUALITY)
    cancelled = make_invoice(zeta, number="CANC", issue_date=days(-60), due_date=days(-20))
    services.invoice_cancel(invoice=cancelled, reason="Mistyped")
    note = services.credit_note_create(
        customer=acme, number="AV1", issue_date=days(-1), amount=D("100.00"), credited_invoice=open_
    )
    return {
        "open": open_,
        "overdue": overdue,
        "paid": paid,
        "disputed": disputed,
        "cancelled": cancelled,
        "credit_note": note,
    }


def numbers(response) -> set[str]:
    return {inv.number for inv in response.context["page"].object_list}


def test_invoice_list_statuses_and_left_to_pay(finance_client, invoices):
    response = finance_client.get(INVOICES)
    assert response.status_code == 200
    rows = {inv.number: inv for inv in response.context["page"].object_list}
    assert {n: r.status for n, r in rows.items()} == {
        "OPEN": "open",
        "LATE": "overdue",
        "PAID": "paid",
        "DISP": "disputed",
        "CANC": "cancelled",
        "AV1": "credit_note",
    }
    assert rows["OPEN"].left == D("900.00")  # 1000 less the 100 credit note
    assert rows["PAID"].left == D("0.00")
    assert rows["LATE"].left == D("1000.00")
    html = response.content.decode()
    assert "status-overdue" in html and "status-disputed" in html


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", {"OPEN"}),
        ("overdue", {"LATE"}),
        ("paid", {"PAID"}),
        ("disputed", {"DISP"}),
        ("cancelled", {"CANC"}),
        ("credit_note", {"AV1"}),
    ],
)
def test_filter_by_status(finance_client, invoices, status, expected):
    assert numbers(finance_client.get(INVOICES, {"status": status})) == expected


def test_filter_by_customer_search_sales_rep_and_due_dates(finance_client, invoices, sales_user):
    assert numbers(finance_client.get(INVOICES, {"q": "acme"})) == {"OPEN", "LATE", "AV1"}
    assert numbers(finance_client.get(INVOICES, {"q": "411ZET"})) == {"PAID", "DISP", "CANC"}
    assert numbers(finance_client.get(INVOICES, {"sales_rep": sales_user.pk})) == {
        "OPEN",
        "LATE",
        "AV1",
    }
    window = {"due_from": days(-35).isoformat(), "due_to": days(-25).isoformat()}
    assert numbers(finance_client.get(INVOICES, window)) == {"LATE", "PAID"}


def test_invalid_filter_is_reported_and_ignored(finance_client, invoices):
    response = finance_client.get(INVOICES, {"due_from": "31/02/2026x", "status": "nonsense"})
    assert response.status_code == 200
    assert len(numbers(response)) == 6
    assert 'class="form-errors"' in response.content.decode()


def test_invoice_list_htmx_fragment(finance_client, invoices):
    response = finance_client.get(INVOICES, {"status": "overdue"}, **HTMX)
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="invoice-table"')
    assert "LATE" in html and "PAID" not in html
    assert "HX-Request" in response["Vary"]


def test_sales_rep_filter_is_hidden_from_sales_reps(client, invoices, sales_user):
    client.force_login(sales_user)
    response = client.get(INVOICES)
    assert numbers(response) == {"OPEN", "LATE", "AV1"}
    assert 'name="sales_rep"' not in response.content.decode()


def test_invoice_page(finance_client, invoices, finance_user):
    inv = make_invoice(
        invoices["open"].customer,
        number="PLAN",
        issue_date=days(-100),
        due_date=days(-70),
        amount="900.00",
        plan="30_30_40",
    )
    make_payment(inv.customer, date=days(-10), amount="300.00", reference="VIR-9", invoice=inv)
    Dispute.objects.create(
        invoice=inv, reason=Dispute.Reason.PO_MISSING, description="No PO", opened_by=finance_user
    )
    response = finance_client.get(inv.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("PLAN", "Acme", "VIR-9", "No PO", "status-disputed"):
        assert text in html, text
    data = response.context["data"]
    assert [(i.sequence, i.amount_left) for i in data.installments] == [
        (1, D("0.00")),
        (2, D("240.00")),
        (3, D("360.00")),
    ]
    assert response.context["invoice"].left == D("600.00")


def test_credit_note_page_lists_what_it_was_applied_to(finance_client, invoices):
    response = finance_client.get(invoices["credit_note"].get_absolute_url())
    assert response.status_code == 200
    made = response.context["data"].allocations_made
    assert [(a.installment.invoice.number, a.amount) for a in made] == [("OPEN", D("100.00"))]


# --- Aged balance ---------------------------------------------------------------------


@pytest.fixture
def ledger():
    """As in test_aged_balance: as of 15 Apr 2026, Alpha 0/400/100/0/0 = 500, Beta 250
    over 90 days, Gamma -50 not due (an unmatched credit note) and 100 at 61-90 days."""
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
    b = CustomerFactory(customer_ref="B", name='Beta, "the" second')
    make_invoice(b, number="B1", issue_date=d(2025, 6, 1), due_date=d(2025, 7, 1), amount="250.00")
    c = CustomerFactory(customer_ref="C", name="Gamma")
    make_invoice(c, number="C1", issue_date=d(2026, 1, 1), due_date=d(2026, 1, 15), amount="100.00")
    services.credit_note_create(customer=c, number="AV1", issue_date=d(2026, 2, 1), amount=D("50"))
    return a, b, c


EXPECTED_CSV = (
    "customer_ref,customer_name,not_due,d1_30,d31_60,d61_90,d90_plus,total\n"
    "A,Alpha,0.00,400.00,100.00,0.00,0.00,500.00\n"
    'B,"Beta, ""the"" second",0.00,0.00,0.00,0.00,250.00,250.00\n'
    "C,Gamma,-50.00,0.00,0.00,100.00,0.00,50.00\n"
    "TOTAL,,-50.00,400.00,100.00,100.00,250.00,800.00\n"
)


def test_aged_balance_page(finance_client, ledger):
    response = finance_client.get(AGED, {"as_of": "2026-04-15"})
    assert response.status_code == 200
    ab = response.context["ab"]
    assert [r["customer_ref"] for r in ab.rows] == ["A", "B", "C"]
    assert ab.totals["total"] == D("800.00")
    html = response.content.decode()
    assert reverse("workplaces:customer_detail", args=[ledger[0].pk]) in html
    assert f"{CSV}?as_of=2026-04-15" in html and f"{XLSX}?as_of=2026-04-15" in html
    assert "TOTAL" in html


def test_aged_balance_defaults_to_today(finance_client, ledger):
    response = finance_client.get(AGED)
    assert response.context["ab"].as_of == timezone.localdate()


@pytest.mark.parametrize("bad", ["2026-02-30", "15/04/2026x", "yesterday"])
def test_aged_balance_bad_date_is_a_form_error(finance_client, ledger, bad):
    response = finance_client.get(AGED, {"as_of": bad})
    assert response.status_code == 200
    assert response.context["ab"] is None
    assert response.context["form"].errors["as_of"]
    assert 'class="form-errors"' in response.content.decode()


def test_aged_balance_csv_function_exact(ledger):
    out = io.StringIO()
    aged_balance_csv(aged_balance(user=None, as_of=d(2026, 4, 15)), out)
    assert out.getvalue() == EXPECTED_CSV


def test_aged_balance_csv_download(finance_client, ledger):
    """An English user gets the command line's contract (DESIGN.md)."""
    response = finance_client.get(CSV, {"as_of": "2026-04-15"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="aged-balance-2026-04-15.csv"' in response["Content-Disposition"]
    assert response.content.decode() == EXPECTED_CSV


def test_aged_balance_csv_download_for_a_french_user(finance_client, finance_user, ledger):
    """What a French spreadsheet opens as it is: BOM, semicolons, decimal commas, French
    headers; the same rows and amounts."""
    UserPreferences.objects.update_or_create(user=finance_user, defaults={"language": "fr"})
    response = finance_client.get(CSV, {"as_of": "2026-04-15"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.content.decode("utf-8-sig") == (
        "Référence;Client;Non échu;1–30 jours;31–60 jours;61–90 jours;Plus de 90 jours;Total\r\n"
        "A;Alpha;0,00;400,00;100,00;0,00;0,00;500,00\r\n"
        'B;"Beta, ""the"" second";0,00;0,00;0,00;0,00;250,00;250,00\r\n'
        "C;Gamma;-50,00;0,00;0,00;100,00;0,00;50,00\r\n"
        "TOTAL;;-50,00;400,00;100,00;100,00;250,00;800,00\r\n"
    )


def test_aged_balance_xlsx_download_has_the_same_values(finance_client, ledger):
    response = finance_client.get(XLSX, {"as_of": "2026-04-15"})
    assert response.status_code == 200
    assert 'filename="aged-balance-2026-04-15.xlsx"' in response["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    expected = [
        line.split(",")
        for line in EXPECTED_CSV.replace('"Beta, ""the"" second"', "B2").splitlines()
    ]
    assert values[0] == expected[0]
    body = values[1:]
    assert [row[0] for row in body] == ["A", "B", "C", "TOTAL"]
    assert body[1][1] == 'Beta, "the" second'
    assert body[3][1] in (None, "")
    for row, exp in zip(body, expected[1:], strict=True):
        assert all(isinstance(v, int | float) for v in row[2:])
        assert [D(str(v)).quantize(D("0.01")) for v in row[2:]] == [D(x) for x in exp[2:]]
    # Numeric cells with a two-decimal format, and a bold TOTAL row.
    assert ws.cell(row=2, column=3).number_format == "#,##0.00"
    assert ws.cell(row=5, column=1).font.b
    assert ws.cell(row=5, column=8).font.b
    assert not ws.cell(row=2, column=1).font.b


def test_xlsx_function_matches_the_csv(ledger):
    ab = aged_balance(user=None, as_of=d(2026, 4, 15))
    ws = openpyxl.load_workbook(io.BytesIO(aged_balance_xlsx(ab))).active
    assert ws.max_row == len(ab.rows) + 2


def test_download_with_a_bad_date_is_a_400(finance_client, ledger):
    assert finance_client.get(CSV, {"as_of": "2026-13-01"}).status_code == 400
    assert finance_client.get(XLSX, {"as_of": "nope"}).status_code == 400


def test_download_refused_to_users_without_a_role(client, ledger):
    client.force_login(make_user(None, "nobody_t"))
    assert client.get(CSV).status_code == 403
    assert client.get(XLSX).status_code == 403
    response = client.get(AGED)
    assert response.status_code == 200
    assert response.context["ab"].rows == []
    assert "Download" not in response.content.decode()


def test_aged_balance_scoped_to_the_sales_rep(client, ledger, sales_user):
    a, _, _ = ledger
    a.sales_rep = sales_user
    a.save()
    client.force_login(sales_user)
    response = client.get(CSV, {"as_of": "2026-04-15"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.content.decode().splitlines() == [
        "customer_ref,customer_name,not_due,d1_30,d31_60,d61_90,d90_plus,total",
        "A,Alpha,0.00,400.00,100.00,0.00,0.00,500.00",
        "TOTAL,,0.00,400.00,100.00,0.00,0.00,500.00",
    ]
