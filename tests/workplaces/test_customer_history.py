"""The customer's history page (workplaces/selectors/history.py): who changed what on the
customer, its contacts and its invoices, old → new; scoped like the customer page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from core import access, audit
from customers.models import Customer
from receivables.models import Invoice
from tests.factories import ContactFactory, CustomerFactory, make_invoice, make_user

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the audit trail is recorded by PostgreSQL triggers only (SQLite keeps none)",
)


def history_url(customer: Customer) -> str:
    return reverse("workplaces:customer_history", args=[customer.pk])


@needs_postgresql
def test_the_history_shows_who_changed_what_old_and_new(client, django_assert_max_num_queries):
    rep = make_user(access.SALES, "rep_h")
    finance = make_user(access.FINANCE, "fin_h")
    customer = CustomerFactory(name="Acme", sales_rep=rep)
    contact = ContactFactory(customer=customer, email="old@example.com")
    invoice = make_invoice(customer, amount="100.00")
    with audit.audit_context(user=finance.pk, username="fin_h", url="/somewhere/"):
        Customer.objects.filter(pk=customer.pk).update(name="Acme SA")
        type(contact).objects.filter(pk=contact.pk).update(email="new@example.com")
        Invoice.objects.filter(pk=invoice.pk).update(po_number="PO-77")
    other = CustomerFactory(name="Elsewhere")
    Customer.objects.filter(pk=other.pk).update(name="Not shown")
    client.force_login(finance)
    # session, user, preferences, roles, customer, then every event in one query
    with django_assert_max_num_queries(6):
        page = client.get(history_url(customer))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme → Acme SA" in html
    assert "old@example.com → new@example.com" in html
    assert "— → PO-77" in html
    assert "fin_h" in html and "/somewhere/" in html
    assert "Not shown" not in html
    changes = page.context["changes"]
    # newest first (an event is timed by clock_timestamp(), not by its transaction)
    assert [c.fields[0].new for c in changes[:3]] == ["PO-77", "new@example.com", "Acme SA"]
    assert {c.object_id for c in changes} >= {str(customer.pk), str(contact.pk), str(invoice.pk)}
    detail = client.get(customer.get_absolute_url()).content.decode()
    assert history_url(customer) in detail


@needs_postgresql
def test_the_history_is_scoped_like_the_customer(client):
    rep, other_rep = make_user(access.SALES, "rep_o"), make_user(access.SALES, "rep_x")
    customer = CustomerFactory(sales_rep=rep)
    Customer.objects.filter(pk=customer.pk).update(city="Brest")
    client.force_login(other_rep)
    assert client.get(history_url(customer)).status_code == 404
    client.force_login(rep)
    page = client.get(history_url(customer))
    assert page.status_code == 200 and "Brest" in page.content.decode()
    client.force_login(make_user(access.MANAGER, "mgr_h"))
    assert client.get(history_url(customer)).status_code == 200


@needs_postgresql
def test_a_timestamp_alone_is_no_change(client):
    customer = CustomerFactory()
    customer.save()  # moves updated_at only
    client.force_login(make_user(access.FINANCE, "fin_ts"))
    changes = client.get(history_url(customer)).context["changes"]
    assert [(c.object_id, c.fields) for c in changes] == [(str(customer.pk), [])]  # created


def test_without_the_trail_the_page_says_why(client):
    customer = CustomerFactory()
    client.force_login(make_user(access.FINANCE, "fin_none"))
    page = client.get(history_url(customer))
    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["recorded"] is audit.recorded()
    if audit.recorded():
        assert "(SQLite)" not in html
        assert page.context["changes"]  # the customer's creation at least
    else:
        assert "(SQLite)" in html  # "recorded on PostgreSQL only", in the user's language
        assert page.context["changes"] == []
