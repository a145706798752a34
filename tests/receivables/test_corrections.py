"""Correcting an invoice's details: what may change and when, the reason on the
timeline, nothing written on a refusal; the pages and who may use them."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from customers.models import Activity
from receivables import services
from receivables.models import Invoice
from tests.factories import CustomerFactory, make_invoice, make_payment

pytestmark = pytest.mark.django_db
D = Decimal
JAN = datetime.date(2026, 1, 1)


def test_po_number_due_date_and_amount_of_an_unpaid_invoice(finance_user):
    inv = make_invoice(amount="100.00", issue_date=JAN)
    services.invoice_update(
        invoice=inv,
        user=finance_user,
        reason="Customer's PO received",
        po_number="PO-42",
        due_date=datetime.date(2026, 3, 1),
        amount=D("120.00"),
    )
    inv.refresh_from_db()
    inst = inv.installments.get()
    assert (inv.po_number, inv.due_date, inv.amount) == ("PO-42", inst.due_date, D("120.00"))
    assert inst.amount == D("120.00")
    entry = Activity.objects.get(kind=Activity.Kind.CORRECTION)
    assert "PO number" in entry.summary and "amount" in entry.summary
    assert entry.body == "Customer's PO received" and entry.author == finance_user


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": D("50.00")}, "amount", "already paid"),
        ({"due_date": datetime.date(2026, 6, 1)}, "due_date", "already paid"),
        ({"issue_date": datetime.date(2026, 1, 25)}, "issue_date", "payment already allocated"),
        ({"issue_date": datetime.date(2026, 3, 1)}, "issue_date", "after a due date"),
    ],
)
def test_a_paid_invoice_keeps_its_amount_and_dates(finance_user, changes, field, message):
    inv = make_invoice(amount="100.00", issue_date=JAN)
    make_payment(inv.customer, date=datetime.date(2026, 1, 20), amount="30.00")
    with pytest.raises(ValidationError, match=message) as caught:
        services.invoice_update(invoice=inv, user=finance_user, reason="r", **changes)
    assert field in caught.value.error_dict
    fresh = Invoice.objects.get(pk=inv.pk)
    assert (fresh.amount, fresh.issue_date, fresh.due_date) == (
        inv.amount,
        inv.issue_date,
        inv.due_date,
    )
    assert not Activity.objects.exists()


def test_plans_keep_their_amount_and_cancelled_invoices_are_left_alone(finance_user):
    inv = make_invoice(amount="300.00", plan="30_30_40")
    with pytest.raises(ValidationError, match="several installments"):
        services.invoice_update(invoice=inv, user=finance_user, reason="r", amount=D("1"))
    services.invoice_cancel(invoice=inv, user=finance_user, reason="Mistyped")
    with pytest.raises(ValidationError, match="cancelled invoice cannot"):
        services.invoice_update(invoice=inv, user=finance_user, reason="r", po_number="X")


def test_a_reason_and_the_right_are_required(finance_user, sales_user):
    inv = make_invoice()
    with pytest.raises(ValidationError, match="Give the reason"):
        services.invoice_update(invoice=inv, user=finance_user, reason="", po_number="X")
    with pytest.raises(PermissionDenied):
        services.invoice_update(invoice=inv, user=sales_user, reason="r", po_number="X")
    inv.refresh_from_db()
    assert inv.po_number == ""


# The pages


def _urls(inv):
    return [
        reverse("receivables:invoice_edit", args=[inv.pk]),
        reverse("workplaces:invoice_cancel", args=[inv.pk]),
    ]


def test_permission_matrix(client, finance_user, sales_user, other_sales_user, manager_user):
    inv = make_invoice(CustomerFactory(sales_rep=sales_user))
    for user, status in (
        (other_sales_user, 404),
        (sales_user, 403),
        (manager_user, 403),
        (finance_user, 200),
    ):
        client.force_login(user)
        assert [client.get(u).status_code for u in _urls(inv)] == [status, status], user
    client.logout()
    assert all(client.get(u).status_code == 302 for u in _urls(inv))


def test_invoice_page_links_and_edit_page(client, finance_user):
    client.force_login(finance_user)
    inv = make_invoice(amount="100.00", issue_date=JAN)
    page = client.get(inv.get_absolute_url()).content.decode()
    assert all(u in page for u in _urls(inv))
    edit = _urls(inv)[0]
    data = {
        "po_number": "PO-7",
        "issue_date": "2026-01-01",
        "due_date": "2026-01-31",
        "amount": "100.00",
    }
    response = client.post(edit, data)
    assert "reason" in response.context["form"].errors
    response = client.post(edit, data | {"reason": "PO received"})
    assert response.status_code == 302
    inv.refresh_from_db()
    assert inv.po_number == "PO-7"
    make_payment(inv.customer, date=datetime.date(2026, 1, 20), amount="30.00")
    response = client.post(edit, data | {"amount": "1.00", "reason": "r"})
    assert "amount" in response.context["form"].errors
    inv.refresh_from_db()
    assert inv.amount == D("100.00")


def test_cancel_page(client, finance_user):
    client.force_login(finance_user)
    inv = make_invoice(amount="100.00", issue_date=JAN)
    make_payment(inv.customer, date=datetime.date(2026, 1, 20), amount="30.00")
    url = _urls(inv)[1]
    response = client.post(url, {"reason": ""})
    assert "reason" in response.context["form"].errors
    assert not Invoice.objects.get(pk=inv.pk).is_cancelled
    response = client.post(url, {"reason": "Sent twice"})
    assert response.status_code == 302 and Invoice.objects.get(pk=inv.pk).is_cancelled
    detail = client.get(inv.customer.get_absolute_url()).content.decode()
    assert "Sent twice" in detail
    # The payment's allocation stays, shown released, on both pages.
    for page in (detail, client.get(inv.get_absolute_url()).content.decode()):
        assert 'badge badge-muted">Reprise<' in page or 'badge badge-muted">Released<' in page
    again = client.post(url, {"reason": "Twice"})
    assert again.context["form"].non_field_errors()


def test_a_credit_note_keeps_its_amount_and_date_once_allocated(finance_user):
    inv = make_invoice(amount="100.00", issue_date=JAN)
    note = services.credit_note_issue(
        customer=inv.customer,
        user=finance_user,
        reason="r",
        number="AV-E",
        amount=D("40"),
        credited_invoice=inv,
        issue_date=datetime.date(2026, 2, 1),
    )
    for changes in ({"amount": D("50")}, {"issue_date": datetime.date(2026, 2, 2)}):
        with pytest.raises(ValidationError, match="already allocated"):
            services.invoice_update(invoice=note, user=finance_user, reason="r", **changes)
    loose = services.credit_note_issue(
        customer=inv.customer, user=finance_user, reason="r", number="AV-F", amount=D("10")
    )
    services.invoice_update(
        invoice=loose, user=finance_user, reason="Typo", amount=D("12"), po_number="PO-1"
    )
    loose.refresh_from_db()
    assert (loose.amount, loose.po_number) == (D("12.00"), "PO-1")
