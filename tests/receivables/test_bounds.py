"""The ledger's bounds (receivables/bounds.py), held by the services whoever calls them
(form, import, script): amounts strictly positive and at most the company's ceiling,
dates within one window around today, an old issue date or a missing PO number
confirmed rather than accepted silently. Each refusal writes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.confirm import asks_confirmation
from customers.models import Activity
from receivables import services
from receivables.models import CompanyProfile, Installment, Invoice, Payment
from tests.factories import ContactFactory, make_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today
D = Decimal


@pytest.fixture
def today(clock):
    return clock.today


def day(today, n: int) -> datetime.date:
    return today + datetime.timedelta(days=n)


def create(customer, today, **overrides):
    kwargs = {
        "customer": customer,
        "number": "B-001",
        "issue_date": day(today, -10),
        "due_date": day(today, 20),
        "amount": D("1000.00"),
    } | overrides
    return services.invoice_create(**kwargs)


def counts():
    return Invoice.objects.count(), Installment.objects.count(), Payment.objects.count()


# --- the service -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("10000000.01", "above the largest amount accepted"),
        ("999999999999.99", "above the largest amount accepted"),
    ],
)
def test_an_invoice_amount_out_of_bounds_is_refused(customer, today, amount, message):
    with pytest.raises(ValidationError, match=message):
        create(customer, today, amount=D(amount))
    assert counts() == (0, 0, 0)


def test_the_ceiling_is_the_company_s_and_can_be_raised(customer, today, company_profile):
    assert CompanyProfile.get().max_amount == D("10000000.00")
    create(customer, today, amount=D("10000000.00"))  # the ceiling itself is accepted
    company_profile.max_amount = D("20000000.00")
    company_profile.save()
    create(customer, today, number="B-002", amount=D("15000000.00"))
    company_profile.max_amount = D("5000.00")
    company_profile.save()
    with pytest.raises(ValidationError, match="largest amount accepted"):
        create(customer, today, number="B-003", amount=D("5000.01"))


def test_a_batch_reads_the_ceiling_and_po_requirements_once(
    customer, today, company_profile, django_assert_num_queries
):
    from receivables import bounds
    from tests.factories import CustomerFactory

    ContactFactory(customer=customer, po_required=True)
    free, outside = CustomerFactory(), CustomerFactory()
    ContactFactory(customer=outside, po_required=True)
    company_profile.max_amount = D("5000.00")
    company_profile.save()
    # Two queries: the ceiling, the PO requirements.
    with django_assert_num_queries(2), bounds.batch([customer.pk, free.pk]):
        answers = [
            bounds.max_amount(),
            bounds.po_required(customer),
            bounds.po_required(free),
            bounds.amount_refusals(D("5000.01")) != [],
        ]
    assert answers == [D("5000.00"), True, False, True]
    # A customer outside the batch is still asked.
    with django_assert_num_queries(3), bounds.batch([customer.pk]):
        assert bounds.po_required(outside) is True
    with django_assert_num_queries(1):  # outside a batch, every answer is read again
        assert bounds.max_amount() == D("5000.00")
    with bounds.batch([customer.pk]):
        with pytest.raises(ValidationError, match="purchase-order number"):
            create(customer, today)
        with pytest.raises(ValidationError, match="largest amount accepted"):
            create(customer, today, amount=D("5000.01"), po_number="PO-1")
        assert create(customer, today, amount=D("5000.00"), po_number="PO-1").pk


def test_an_issue_date_more_than_a_year_ahead_is_refused(customer, today):
    with pytest.raises(ValidationError, match="too far ahead"):
        create(customer, today, issue_date=day(today, 366), due_date=day(today, 400))
    with pytest.raises(ValidationError, match="too far ahead"):
        create(
            customer,
            today,
            issue_date=datetime.date(2099, 1, 1),
            due_date=datetime.date(2099, 2, 1),
        )
    assert counts() == (0, 0, 0)


def test_a_due_date_more_than_a_year_after_the_issue_date_is_refused(customer, today):
    with pytest.raises(ValidationError, match="more than a year after the issue date"):
        create(customer, today, due_date=day(today, 400))
    assert counts() == (0, 0, 0)


def test_an_old_issue_date_needs_a_confirmation(customer, today):
    old = day(today, -366)
    with pytest.raises(ValidationError) as refused:
        create(customer, today, issue_date=old, due_date=old + datetime.timedelta(days=30))
    assert asks_confirmation(refused.value)
    assert "more than a year ago" in refused.value.messages[0]
    assert counts() == (0, 0, 0)
    invoice = create(
        customer, today, issue_date=old, due_date=old + datetime.timedelta(days=30), confirmed=True
    )
    assert invoice.issue_date == old


def test_2001_needs_a_confirmation(customer, today):
    with pytest.raises(ValidationError, match="more than a year ago"):
        create(
            customer,
            today,
            issue_date=datetime.date(2001, 3, 1),
            due_date=datetime.date(2001, 4, 1),
        )
    assert counts() == (0, 0, 0)


def test_a_year_ago_exactly_needs_no_confirmation(customer, today):
    create(customer, today, issue_date=day(today, -365), due_date=day(today, -335))


def test_a_po_required_contact_needs_a_po_number_or_a_confirmation(customer, today):
    ContactFactory(customer=customer, po_required=True)
    with pytest.raises(ValidationError, match="requires a purchase-order number") as refused:
        create(customer, today, po_number="  ")
    assert asks_confirmation(refused.value)
    assert counts() == (0, 0, 0)
    create(customer, today, po_number="PO-1")
    create(customer, today, number="B-002", confirmed=True)
    assert Invoice.objects.count() == 2


def test_a_refusal_is_not_confirmable(customer, today):
    with pytest.raises(ValidationError) as refused:
        create(customer, today, amount=D("0"), confirmed=True)
    assert not asks_confirmation(refused.value)


def test_payments_and_credit_notes_share_the_ceiling(customer, today):
    with pytest.raises(ValidationError, match="largest amount accepted"):
        services.payment_record(customer=customer, date=today, amount=D("99999999.00"))
    with pytest.raises(ValidationError, match="largest amount accepted"):
        services.credit_note_create(
            customer=customer, number="AV-1", issue_date=today, amount=D("99999999.00")
        )
    assert counts() == (0, 0, 0)


# --- the form ----------------------------------------------------------------------------


@pytest.fixture
def finance_client(client, finance_user):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(finance_user)
    return client


def post(client, customer, today, **overrides):
    data = {
        "number": "F-1",
        "issue_date": day(today, -10).isoformat(),
        "due_date": day(today, 20).isoformat(),
        "amount": "1000.00",
        "currency": "EUR",
        "po_number": "",
        "plan": "single",
        "parts": "",
    } | overrides
    return client.post(reverse("receivables:invoice_create", args=[customer.pk]), data)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "0", "Ensure this value is greater than or equal to 0.01."),
        ("amount", "10000000.01", "above the largest amount accepted"),
        ("issue_date", "2099-01-01", "too far ahead"),
    ],
)
def test_the_invoice_form_shows_the_bounds_beside_the_field(
    finance_client, customer, today, field, value, message
):
    extra = {"due_date": "2099-01-15"} if field == "issue_date" else {}
    response = post(finance_client, customer, today, **{field: value}, **extra)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    assert counts() == (0, 0, 0)


def test_the_invoice_form_asks_to_confirm_an_old_date_then_creates(finance_client, customer, today):
    old = {"issue_date": "2001-03-01", "due_date": "2001-04-01"}
    response = post(finance_client, customer, today, **old)
    assert response.status_code == 200
    html = response.content.decode()
    assert "is more than a year ago" in html
    assert 'type="checkbox" name="confirm"' in html
    assert counts() == (0, 0, 0)
    response = post(finance_client, customer, today, **old, confirm="on")
    assert response.status_code == 302
    assert Invoice.objects.get().issue_date == datetime.date(2001, 3, 1)


def test_the_confirm_box_is_hidden_until_a_warning_asks_for_it(finance_client, customer):
    response = finance_client.get(reverse("receivables:invoice_create", args=[customer.pk]))
    html = response.content.decode()
    assert 'type="checkbox" name="confirm"' not in html
    assert 'type="hidden" name="confirm"' in html


def test_the_invoice_form_warns_on_a_missing_po_number(finance_client, customer, today):
    ContactFactory(customer=customer, po_required=True)
    response = post(finance_client, customer, today)
    assert "requires a purchase-order number" in response.content.decode()
    assert counts() == (0, 0, 0)
    assert post(finance_client, customer, today, confirm="on").status_code == 302
    assert Invoice.objects.count() == 1


def test_the_warnings_speak_french(client, finance_user, customer, today):
    client.force_login(finance_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    ContactFactory(customer=customer, po_required=True)
    html = post(client, customer, today).content.decode()
    assert "exige un numéro de bon de commande" in html.replace("&#x27;", "'")


def test_the_payment_form_refuses_an_amount_above_the_ceiling(finance_client, customer, today):
    response = finance_client.post(
        reverse("receivables:payment_create", args=[customer.pk]),
        {"date": today.isoformat(), "amount": "99999999.00", "method": "transfer"},
    )
    assert response.status_code == 200
    assert "largest amount accepted" in str(response.context["form"].errors["amount"])
    assert counts() == (0, 0, 0)


def test_make_invoice_is_confirmed_for_histories(customer):
    # The factory builds histories older than a year on purpose (see tests/factories.py).
    assert make_invoice(customer, issue_date=datetime.date(2020, 1, 1)).pk
    assert not Activity.objects.exists()


# --- the invoice import ------------------------------------------------------------------

IMPORT_HEADER = (
    "customer_ref,customer_name,invoice_number,issue_date,due_date,amount,po_number,confirmed"
)


def import_rows(tmp_path, rows):
    from tests.receivables.import_helpers import write_csv

    return write_csv(tmp_path, rows, header=IMPORT_HEADER, name="bounds.csv")


def good_row(today, number="I-OK"):
    return f"411OK,OK SA,{number},{day(today, -5)},{day(today, 25)},10.00,,"


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("{d-5},{d25},0,,", "amount: The amount must be greater than zero."),
        ("{d-5},{d25},999999999999.99,,", "is above the largest amount accepted"),
        ("2099-01-01,2099-01-31,10,,", "issue_date: 2099-01-01 is too far ahead"),
        ("{d-5},{d400},10,,", "more than a year after the issue date"),
        ("2001-03-01,2001-03-31,10,,", "2001-03-01 is more than a year ago"),
    ],
)
def test_an_import_line_out_of_bounds_is_reported_and_nothing_imported(
    tmp_path, today, company_profile, cells, message
):
    from tests.receivables.import_helpers import run_command_failing

    cells = (
        cells.replace("{d-5}", day(today, -5).isoformat())
        .replace("{d25}", day(today, 25).isoformat())
        .replace("{d400}", day(today, 400).isoformat())
    )
    path = import_rows(tmp_path, [good_row(today), f"411B,B SA,I-BAD,{cells}"])
    _exc, err = run_command_failing("import_invoices", path)
    assert "line 3: " in err and message in err
    assert counts() == (0, 0, 0)


def test_an_import_confirms_an_old_line_with_its_confirmed_cell(tmp_path, today, company_profile):
    from tests.receivables.import_helpers import run_command

    path = import_rows(tmp_path, [good_row(today), "411B,B SA,I-OLD,2001-03-01,2001-03-31,10,,oui"])
    out, err = run_command("import_invoices", path)
    assert err == "" and "invoices created: 2" in out
    assert Invoice.objects.get(number="I-OLD").issue_date == datetime.date(2001, 3, 1)


def test_an_import_reports_a_missing_po_number_for_a_po_required_customer(
    tmp_path, today, customer, company_profile
):
    from tests.receivables.import_helpers import run_command, run_command_failing

    ContactFactory(customer=customer, po_required=True)
    ref, name = customer.customer_ref, customer.name
    row = f"{ref},{name},I-PO,{day(today, -5)},{day(today, 25)},10.00"
    _exc, err = run_command_failing("import_invoices", import_rows(tmp_path, [f"{row},,"]))
    assert "line 2: " in err and "requires a purchase-order number" in err
    assert "confirmed column" in err
    assert counts() == (0, 0, 0)
    run_command("import_invoices", import_rows(tmp_path, [f"{row},PO-9,"]))
    assert Invoice.objects.get(number="I-PO").po_number == "PO-9"


def test_a_payment_import_line_above_the_ceiling_is_reported(tmp_path, today, customer):
    from tests.receivables.import_helpers import run_command_failing, write_csv

    invoice = make_invoice(customer, issue_date=day(today, -20))
    rows = [f"{invoice.number},{day(today, -1)},99999999.00,VIR,"]
    path = write_csv(
        tmp_path, rows, header="invoice_number,payment_date,amount,reference,method", name="p.csv"
    )
    _exc, err = run_command_failing("import_payments", path)
    assert "line 2: amount: " in err and "above the largest amount accepted" in err
    assert Payment.objects.count() == 0


def test_the_invoice_form_refuses_a_due_date_more_than_a_year_after_issue(
    finance_client, customer, today
):
    response = post(finance_client, customer, today, due_date=day(today, 400).isoformat())
    assert "more than a year after the issue date" in str(
        response.context["form"].errors["due_date"]
    )
    assert counts() == (0, 0, 0)


def test_the_invoice_form_says_beforehand_that_a_po_number_is_required(finance_client, customer):
    url = reverse("receivables:invoice_create", args=[customer.pk])
    assert "requires a purchase-order number" not in finance_client.get(url).content.decode()
    ContactFactory(customer=customer, po_required=True)
    assert "requires a purchase-order number" in finance_client.get(url).content.decode()
