"""Finance enters invoices and payments from a customer's page: the plan's installments,
the allocation of a payment (to a chosen invoice, else oldest first, the excess kept as
credit), the ledger's refusals shown as form errors with nothing written, and who may."""

import datetime
from decimal import Decimal
from html import unescape
from urllib.parse import urlsplit

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from receivables.models import Allocation, Installment, Invoice, Payment
from tests.factories import CustomerFactory, make_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
D = Decimal


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def invoice_url(customer) -> str:
    return reverse("receivables:invoice_create", args=[customer.pk])


def payment_url(customer) -> str:
    return reverse("receivables:payment_create", args=[customer.pk])


@pytest.fixture
def finance_client(client, finance_user):
    """Pages in English, the language of the messages checked here."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(finance_user)
    return client


def invoice_data(**overrides) -> dict:
    data = {
        "number": "F-2026-001",
        "issue_date": days(-10).isoformat(),
        "due_date": days(20).isoformat(),
        "amount": "1000.00",
        "currency": "EUR",
        "po_number": "PO-77",
        "plan": "single",
        "parts": "",
    }
    return data | overrides


def payment_data(**overrides) -> dict:
    data = {
        "date": days(-1).isoformat(),
        "amount": "100.00",
        "method": "transfer",
        "reference": "VIR 123",
        "invoice": "",
    }
    return data | overrides


def ledger_counts() -> tuple[int, int, int, int]:
    return (
        Invoice.objects.count(),
        Installment.objects.count(),
        Payment.objects.count(),
        Allocation.objects.count(),
    )


# --- invoices ----------------------------------------------------------------------------


def test_the_invoice_form_starts_with_today_and_the_customers_terms(finance_client, customer):
    response = finance_client.get(invoice_url(customer))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["issue_date"] == timezone.localdate()
    terms = customer.payment_terms_days or 0
    assert form.initial["due_date"] == timezone.localdate() + datetime.timedelta(days=terms)
    html = response.content.decode()
    assert 'name="number"' in html
    assert "30/30/40" in html
    assert "style=" not in html.split('<main id="main"')[1]


def test_finance_creates_a_30_30_40_invoice(finance_client, customer):
    due = days(20)
    response = finance_client.post(
        invoice_url(customer), invoice_data(plan="30_30_40", amount="1000.01")
    )
    invoice = Invoice.objects.get(number="F-2026-001")
    assert response.status_code == 302
    assert response["Location"] == invoice.get_absolute_url()
    assert invoice.customer == customer
    assert invoice.amount == D("1000.01")
    assert invoice.po_number == "PO-77"
    assert invoice.currency == "EUR"
    parts = list(invoice.installments.order_by("sequence").values_list("due_date", "amount"))
    assert parts == [
        (due, D("300.00")),
        (due + relativedelta(months=1), D("300.00")),
        (due + relativedelta(months=2), D("400.01")),
    ]
    page = finance_client.get(response["Location"])
    assert "Invoice F-2026-001 created." in page.content.decode()


def test_finance_creates_a_monthly_plan(finance_client, customer):
    response = finance_client.post(
        invoice_url(customer), invoice_data(plan="monthly", parts="4", amount="100.00")
    )
    assert response.status_code == 302
    invoice = Invoice.objects.get(number="F-2026-001")
    amounts = list(invoice.installments.order_by("sequence").values_list("amount", flat=True))
    assert amounts == [D("25.00")] * 4


def test_a_monthly_plan_needs_its_number_of_parts(finance_client, customer):
    before = ledger_counts()
    response = finance_client.post(invoice_url(customer), invoice_data(plan="monthly"))
    assert response.status_code == 200
    assert response.context["form"].errors["parts"] == ["Give the number of monthly parts."]
    assert ledger_counts() == before


@pytest.mark.parametrize(
    ("issue", "due", "parts"),
    [
        ("9999-06-01", "9999-12-01", "12"),  # the due date's bound overflowed in December 9999
        ("2026-11-01", "9999-12-01", "12"),  # the parts' dates after the year 9999
        ("", "9999-12-01", "120"),  # an issue date missing: the parts alone
        ("9999-12-31", "9999-12-31", "2"),
    ],
)
def test_a_plan_past_the_year_9999_is_a_form_error_not_a_500(
    finance_client, customer, issue, due, parts
):
    before = ledger_counts()
    response = finance_client.post(
        invoice_url(customer),
        invoice_data(issue_date=issue, due_date=due, plan="monthly", parts=parts),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors and ledger_counts() == before
    if not issue:
        assert errors["parts"] == [
            f"With {parts} monthly parts from 9999-12-01, the last part would fall after the "
            "year 9999: choose an earlier due date or fewer parts."
        ]


def test_a_plan_past_the_year_9999_is_refused_by_the_plan_itself():
    from django.core.exceptions import ValidationError

    from receivables.plans import PlanKind, build_plan

    with pytest.raises(ValidationError) as refused:
        build_plan(
            total=D("100.00"),
            first_due=datetime.date(9999, 11, 30),
            kind=PlanKind.MONTHLY,
            parts=3,
        )
    assert "after the year 9999" in refused.value.messages[0]
    last = build_plan(
        total=D("100.00"), first_due=datetime.date(9999, 11, 30), kind=PlanKind.MONTHLY, parts=2
    )[-1]
    assert last.due_date == datetime.date(9999, 12, 30)


def test_invoices_and_payments_entered_on_the_web_record_their_author(
    finance_client, customer, finance_user
):
    response = finance_client.post(invoice_url(customer), invoice_data(number="F-AUTHOR"))
    assert Invoice.objects.get(number="F-AUTHOR").created_by == finance_user
    page = finance_client.get(response["Location"]).content.decode()
    assert f"by {finance_user.get_full_name() or finance_user.username} on" in page
    finance_client.post(payment_url(customer), payment_data(reference="VIR AUTHOR"))
    assert Payment.objects.get(reference="VIR AUTHOR").created_by == finance_user


def test_the_command_line_records_no_author(tmp_path, customer, finance_client):
    """An import (the command line) has nobody to name: the author stays empty."""
    from django.core.management import call_command

    path = tmp_path / "invoices.csv"
    path.write_text(
        "customer_ref,customer_name,invoice_number,issue_date,due_date,amount\n"
        f"{customer.customer_ref},{customer.name},F-CLI-1,{days(-5)},{days(25)},120.00\n"
    )
    call_command("import_invoices", str(path), stdout=None)
    invoice = Invoice.objects.get(number="F-CLI-1")
    assert invoice.created_by is None
    page = finance_client.get(invoice.get_absolute_url()).content.decode()
    assert "by an import or the command line on" in page
    path = tmp_path / "payments.csv"
    path.write_text(f"invoice_number,payment_date,amount\nF-CLI-1,{days(-1)},20.00\n")
    call_command("import_payments", str(path), stdout=None)
    assert Payment.objects.get(amount=D("20.00")).created_by is None


def test_a_duplicate_number_is_refused(finance_client, customer):
    make_invoice(customer, number="F-2026-001")
    before = ledger_counts()
    response = finance_client.post(invoice_url(customer), invoice_data())
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "number" in errors
    assert "already exists" in errors["number"][0]
    assert ledger_counts() == before


def test_a_due_date_before_the_issue_date_is_refused(finance_client, customer):
    before = ledger_counts()
    response = finance_client.post(
        invoice_url(customer),
        invoice_data(issue_date=days(-1).isoformat(), due_date=days(-5).isoformat()),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.non_field_errors() == ["The due date cannot be before the issue date."]
    assert "The due date cannot be before the issue date." in response.content.decode()
    assert ledger_counts() == before


def test_a_negative_invoice_amount_is_refused(finance_client, customer):
    before = ledger_counts()
    response = finance_client.post(invoice_url(customer), invoice_data(amount="-10.00"))
    assert response.status_code == 200
    assert "amount" in response.context["form"].errors
    assert ledger_counts() == before


@pytest.mark.parametrize("currency", ["USD", "gbp"])
def test_another_currency_is_refused(finance_client, customer, currency):
    before = ledger_counts()
    response = finance_client.post(invoice_url(customer), invoice_data(currency=currency))
    assert response.status_code == 200
    message = f"{currency.upper()} is not accepted: the ledger is kept in EUR only."
    assert response.context["form"].errors["currency"] == [message]
    assert message in response.content.decode()
    assert ledger_counts() == before


def test_a_lower_case_eur_is_the_ledgers_currency(finance_client, customer):
    finance_client.post(invoice_url(customer), invoice_data(currency="eur"))
    assert Invoice.objects.get(number="F-2026-001").currency == "EUR"


# --- payments ----------------------------------------------------------------------------


@pytest.fixture
def two_invoices(customer):
    """An older invoice (100, due 30 days ago) and a newer one (200, due in 10 days)."""
    older = make_invoice(
        customer, number="OLD", issue_date=days(-60), due_date=days(-30), amount="100.00"
    )
    newer = make_invoice(
        customer, number="NEW", issue_date=days(-20), due_date=days(10), amount="200.00"
    )
    return older, newer


def test_the_payment_form_offers_the_customers_open_invoices(
    finance_client, customer, two_invoices
):
    CustomerFactory()  # another customer's invoices are not offered
    make_invoice(number="ELSEWHERE")
    response = finance_client.get(payment_url(customer))
    assert response.status_code == 200
    choices = list(response.context["form"].fields["invoice"].queryset)
    assert choices == list(two_invoices)
    assert "ELSEWHERE" not in response.content.decode()


def test_a_payment_goes_to_the_chosen_invoice(finance_client, customer, two_invoices):
    older, newer = two_invoices
    response = finance_client.post(
        payment_url(customer), payment_data(amount="150.00", invoice=str(newer.pk))
    )
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    payment = Payment.objects.get()
    assert (payment.customer, payment.date, payment.amount) == (customer, days(-1), D("150.00"))
    assert (payment.method, payment.reference) == ("transfer", "VIR 123")
    assert payment.allocated_amount == D("150.00")
    assert {a.installment.invoice for a in payment.allocations.all()} == {newer}
    assert older.installments.get().paid_amount == 0
    assert newer.installments.get().paid_amount == D("150.00")
    page = finance_client.get(response["Location"])
    assert "Payment of €150.00 recorded: €150.00 allocated, €0.00 left as credit." in (
        page.content.decode()
    )


def test_a_payment_without_invoice_goes_oldest_first_and_keeps_the_excess_as_credit(
    finance_client, customer, two_invoices
):
    older, newer = two_invoices
    response = finance_client.post(
        payment_url(customer), payment_data(amount="350.00", method="cheque")
    )
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.method == "cheque"
    assert payment.allocated_amount == D("300.00")
    assert payment.unallocated == D("50.00")
    allocations = list(payment.allocations.order_by("installment__due_date"))
    assert [(a.installment.invoice, a.amount) for a in allocations] == [
        (older, D("100.00")),
        (newer, D("200.00")),
    ]
    page = finance_client.get(response["Location"]).content.decode()
    assert "Payment of €350.00 recorded: €300.00 allocated, €50.00 left as credit." in page


def test_a_future_payment_date_is_refused(finance_client, customer, two_invoices):
    before = ledger_counts()
    response = finance_client.post(payment_url(customer), payment_data(date=days(1).isoformat()))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "A payment cannot be dated in the future."
    ]
    assert ledger_counts() == before


@pytest.mark.parametrize("amount", ["-5.00", "0"])
def test_a_payment_amount_must_be_positive(finance_client, customer, two_invoices, amount):
    before = ledger_counts()
    response = finance_client.post(payment_url(customer), payment_data(amount=amount))
    assert response.status_code == 200
    assert "amount" in response.context["form"].errors
    assert ledger_counts() == before


def test_another_customers_invoice_is_refused(finance_client, customer, two_invoices):
    foreign = make_invoice(CustomerFactory(), number="FOREIGN")
    before = ledger_counts()
    response = finance_client.post(payment_url(customer), payment_data(invoice=str(foreign.pk)))
    assert response.status_code == 200
    assert "invoice" in response.context["form"].errors
    assert ledger_counts() == before


# --- who may -----------------------------------------------------------------------------

URLS = [invoice_url, payment_url]
EXPECTED = {"owner": 403, "other_sales": 404, "manager": 403, "finance": 200}


@pytest.fixture
def users(sales_user, other_sales_user, manager_user, finance_user):
    return {
        "owner": sales_user,
        "other_sales": other_sales_user,
        "manager": manager_user,
        "finance": finance_user,
    }


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_sent_to_login(client, customer, url):
    for method in (client.get, client.post):
        response = method(url(customer))
        assert response.status_code == 302
        location = urlsplit(response["Location"])
        assert location.path == reverse("login")
        assert "next=" in location.query


@pytest.mark.parametrize("role", EXPECTED)
@pytest.mark.parametrize("url", URLS)
def test_permission_matrix(client, customer, users, url, role):
    client.force_login(users[role])
    assert client.get(url(customer)).status_code == EXPECTED[role]


@pytest.mark.parametrize("role", ["owner", "other_sales", "manager"])
def test_only_finance_writes(client, customer, users, role):
    make_invoice(customer, number="EXISTING")
    client.force_login(users[role])
    before = ledger_counts()
    assert client.post(invoice_url(customer), invoice_data()).status_code == EXPECTED[role]
    assert client.post(payment_url(customer), payment_data()).status_code == EXPECTED[role]
    assert ledger_counts() == before


@pytest.mark.parametrize("name", ["receivables:invoice_create", "receivables:payment_create"])
def test_an_unknown_customer_is_404(finance_client, name):
    assert finance_client.get(reverse(name, args=[999999])).status_code == 404


@pytest.mark.parametrize(("role", "shown"), [("finance", True), ("owner", False)])
def test_the_customer_page_shows_the_buttons_to_finance(client, customer, users, role, shown):
    client.force_login(users[role])
    html = client.get(customer.get_absolute_url()).content.decode()
    assert (invoice_url(customer) in html) == shown
    assert (payment_url(customer) in html) == shown


def test_the_forms_speak_french(client, customer, finance_user):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    client.force_login(finance_user)
    html = client.get(invoice_url(customer)).content.decode()
    assert "Nouvelle facture" in html
    assert "Mensualités égales" in html
    response = client.post(payment_url(customer), payment_data(date=days(1).isoformat()))
    assert "Un règlement ne peut pas être daté dans le futur." in response.content.decode()
    response = client.post(invoice_url(customer), invoice_data(number="FR-1"), follow=True)
    assert "Facture FR-1 créée." in response.content.decode()
    response = client.post(invoice_url(customer), invoice_data(number="FR-2", currency="USD"))
    assert (
        "La devise USD n'est pas acceptée\u00a0: le poste clients est tenu uniquement en EUR."
        in unescape(response.content.decode())
    )
