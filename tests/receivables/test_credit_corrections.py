"""Credit notes, re-allocation, applying credit and writing off: their effect on the
balance today and on earlier days, the timeline, refusals that change nothing, and the
pages finance reaches them from."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity
from receivables import services
from receivables.models import Allocation, CompanyProfile, Installment, Invoice, Payment
from receivables.selectors import aged_balance, ledger_balances
from tests.factories import CustomerFactory, make_invoice, make_payment

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]
D = Decimal
DAY = datetime.timedelta(days=1)


def today() -> datetime.date:
    return timezone.localdate()


def total(customer, as_of) -> Decimal:
    return ledger_balances(customer_ids=[customer.pk], as_of=as_of)[customer.pk].total


def aged_total(customer, as_of) -> Decimal:
    rows = [r for r in aged_balance(user=None, as_of=as_of).rows if r["customer_id"] == customer.pk]
    return rows[0]["total"] if rows else D("0.00")


def corrections(customer) -> list[Activity]:
    return list(Activity.objects.filter(customer=customer, kind=Activity.Kind.CORRECTION))


@pytest.fixture
def invoice():
    return make_invoice(issue_date=today() - 40 * DAY, due_date=today() - 10 * DAY, amount="500")


def test_credit_note_against_an_invoice(invoice, finance_user):
    customer = invoice.customer
    note = services.credit_note_issue(
        customer=customer,
        user=finance_user,
        reason="Damaged goods",
        number="AV-1",
        amount=D("200"),
        credited_invoice=invoice,
    )
    assert Installment.objects.get(invoice=invoice).paid_amount == D("200.00")
    assert total(customer, today()) == aged_total(customer, today()) == D("300.00")
    assert aged_total(customer, today() - DAY) == D("500.00")  # before the note
    (entry,) = corrections(customer)
    assert note.number in entry.summary and entry.body == "Damaged goods"
    assert note.created_by == finance_user


def test_credit_note_on_the_account_is_unallocated_credit(invoice, finance_user):
    customer = invoice.customer
    services.credit_note_issue(
        customer=customer, user=finance_user, reason="Goodwill", number="AV-2", amount=D("50")
    )
    assert not Allocation.objects.exists()
    assert total(customer, today()) == D("450.00")


def test_credit_note_refusals_change_nothing(invoice, finance_user, sales_user):
    customer = invoice.customer
    cases = [
        ({"reason": ""}, ValidationError, "Give the reason"),
        ({"amount": D("-5")}, ValidationError, "must be positive"),
        ({"number": invoice.number}, ValidationError, "already exists"),
        ({"user": sales_user}, PermissionDenied, None),
    ]
    for changes, error, message in cases:
        kwargs = {"customer": customer, "user": finance_user, "reason": "r", "number": "AV-9"}
        kwargs |= {"amount": D("10")} | changes
        with pytest.raises(error, match=message):
            services.credit_note_issue(**kwargs)
    assert not Invoice.objects.credit_notes().exists() and not corrections(customer)


def test_reallocating_a_payment_keeps_earlier_days(finance_user):
    customer = CustomerFactory()
    old = make_invoice(
        customer, issue_date=today() - 90 * DAY, due_date=today() - 60 * DAY, amount="100"
    )
    new = make_invoice(
        customer, issue_date=today() - 20 * DAY, due_date=today() - 5 * DAY, amount="100"
    )
    payment = make_payment(customer, date=today() - 3 * DAY, amount="100", invoice=new)
    before = aged_balance(user=None, as_of=today() - DAY).rows[0]
    services.payment_reallocate(
        payment=payment, user=finance_user, reason="Paid the old one", invoice=old
    )
    assert Installment.objects.get(invoice=old).paid_amount == D("100.00")
    assert Installment.objects.get(invoice=new).paid_amount == D("0.00")
    assert aged_balance(user=None, as_of=today() - DAY).rows[0] == before
    now = aged_balance(user=None, as_of=today()).rows[0]
    assert (now["d61_90"], now["d1_30"]) == (D("0.00"), D("100.00"))
    assert total(customer, today()) == D("100.00")
    assert "Paid the old one" in [a.body for a in corrections(customer)]
    other = make_invoice(CustomerFactory())
    with pytest.raises(ValidationError, match="open invoice of this customer"):
        services.payment_reallocate(payment=payment, user=finance_user, reason="r", invoice=other)


def test_apply_credit_then_nothing_left_to_apply(invoice, finance_user):
    customer = invoice.customer
    Payment.objects.create(customer=customer, date=today() - DAY, amount=D("120"))
    services.credit_note_issue(
        customer=customer, user=finance_user, reason="r", number="AV-3", amount=D("30")
    )
    applied = services.credit_apply(customer=customer, user=finance_user, reason="Lettrage")
    assert applied == D("150.00")
    assert Installment.objects.get(invoice=invoice).paid_amount == D("150.00")
    assert total(customer, today()) == D("350.00")
    with pytest.raises(ValidationError, match="no unallocated credit"):
        services.credit_apply(customer=customer, user=finance_user, reason="Again")


def test_write_off_below_the_threshold_only(invoice, finance_user, company_profile):
    customer = invoice.customer
    CompanyProfile.objects.update(write_off_threshold=D("5.00"))
    with pytest.raises(ValidationError, match="more than the write-off threshold"):
        services.balance_write_off(customer=customer, user=finance_user, reason="Small")
    make_payment(customer, date=today() - DAY, amount="496.50")
    note = services.balance_write_off(customer=customer, user=finance_user, reason="Bank fees")
    assert note.is_write_off and note.amount == D("3.50")
    assert note.created_by == finance_user
    assert total(customer, today()) == D("0.00")
    assert total(customer, today() - DAY) == D("3.50")  # the history keeps what was owed
    assert "Bank fees" in [a.body for a in corrections(customer)]
    with pytest.raises(ValidationError, match="nothing to write off"):
        services.balance_write_off(customer=customer, user=finance_user, reason="Again")


# The pages


def test_pages_permission_matrix(client, finance_user, sales_user, other_sales_user, manager_user):
    customer = CustomerFactory(sales_rep=sales_user)
    payment = make_payment(customer, date=today(), amount="10")
    urls = [
        reverse("receivables:credit_note_create", args=[customer.pk]),
        reverse("receivables:credit_apply", args=[customer.pk]),
        reverse("receivables:write_off", args=[customer.pk]),
        reverse("receivables:payment_reallocate", args=[payment.pk]),
    ]
    for user, status in (
        (other_sales_user, 404),
        (sales_user, 403),
        (manager_user, 403),
        (finance_user, 200),
    ):
        client.force_login(user)
        assert [client.get(u).status_code for u in urls] == [status] * 4, user
    page = client.get(customer.get_absolute_url()).content.decode()
    assert all(u in page for u in urls)


def test_credit_note_page(client, finance_user, invoice):
    client.force_login(finance_user)
    url = reverse("receivables:credit_note_create", args=[invoice.customer_id])
    assert url in client.get(invoice.get_absolute_url()).content.decode()
    data = {"credited_invoice": invoice.pk, "number": "AV-P", "amount": "100"}
    response = client.post(url, data)
    assert "reason" in response.context["form"].errors
    assert not Invoice.objects.credit_notes().exists()
    response = client.post(url, data | {"reason": "Price agreed"})
    assert response.status_code == 302
    assert Installment.objects.get(invoice=invoice).paid_amount == D("100.00")


def test_write_off_page_refusal_is_shown(client, finance_user, invoice, company_profile):
    client.force_login(finance_user)
    response = client.post(
        reverse("receivables:write_off", args=[invoice.customer_id]), {"reason": "Small"}
    )
    assert response.context["form"].non_field_errors()
    assert not Invoice.objects.credit_notes().exists()


def test_a_negative_write_off_threshold_is_refused(company_profile):
    company_profile.write_off_threshold = D("-1.00")
    with pytest.raises(ValidationError, match="Ensure this value is greater than or equal to 0"):
        company_profile.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        company_profile.save()
