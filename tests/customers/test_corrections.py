"""Finance creates and corrects customers and billing contacts: validated identifiers,
the reason on the timeline, nothing written on a refusal, and who may do it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from customers import services
from customers.models import Activity, Contact, Customer
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

VALID_SIREN = "732829320"
VALID_VAT = "FR44732829320"


def test_customer_create_compacts_and_validates_identifiers(finance_user):
    c = services.customer_create(
        user=finance_user,
        customer_ref="411new",
        name="Nouvelle SA",
        siren="732 829 320",
        vat_number="FR 44 732829320",
    )
    assert (c.customer_ref, c.siren, c.vat_number) == ("411NEW", VALID_SIREN, VALID_VAT)
    entry = Activity.objects.get(customer=c)
    assert entry.kind == Activity.Kind.CORRECTION and entry.author == finance_user


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("siren", "123456789", "is not a valid SIREN number"),
        ("vat_number", "FR00123456789", "is not a valid EU VAT number"),
        ("sepa_mandate", "RUM#1", "is not a SEPA mandate reference"),
        ("sepa_mandate", "R" * 36, "is not a SEPA mandate reference"),
    ],
)
def test_invalid_identifiers_are_refused_and_nothing_written(finance_user, field, value, message):
    with pytest.raises(ValidationError, match=message):
        services.customer_create(user=finance_user, customer_ref="411X", name="X", **{field: value})
    assert not Customer.objects.exists() and not Activity.objects.exists()


def test_a_sepa_mandate_belongs_to_one_customer(finance_user):
    CustomerFactory(sepa_mandate="RUM-0001")
    other = CustomerFactory()
    with pytest.raises(ValidationError, match="Another customer has this SEPA mandate"):
        services.customer_update(
            customer=other, user=finance_user, reason="mandate", sepa_mandate="RUM-0001"
        )
    other.refresh_from_db()
    assert other.sepa_mandate == "" and not Activity.objects.exists()
    services.customer_update(
        customer=other, user=finance_user, reason="mandate", sepa_mandate="RUM-0002 (2026)"
    )
    assert Customer.objects.get(pk=other.pk).sepa_mandate == "RUM-0002 (2026)"


def test_customer_update_records_fields_and_reason(finance_user):
    c = CustomerFactory(name="Old name")
    services.customer_update(
        customer=c, user=finance_user, reason="Kbis received", name="New name", siren=VALID_SIREN
    )
    c.refresh_from_db()
    assert c.name == "New name"
    entry = Activity.objects.get(customer=c)
    assert "legal name" in entry.summary and "SIREN" in entry.summary
    assert entry.body == "Kbis received" and entry.author == finance_user


def test_customer_update_needs_a_reason(finance_user):
    c = CustomerFactory(name="Old name")
    with pytest.raises(ValidationError, match="Give the reason"):
        services.customer_update(customer=c, user=finance_user, reason=" ", name="New")
    c.refresh_from_db()
    assert c.name == "Old name" and not Activity.objects.exists()


def test_only_finance_may_correct(sales_user, manager_user):
    c = CustomerFactory()
    for user in (sales_user, manager_user):
        with pytest.raises(PermissionDenied):
            services.customer_update(customer=c, user=user, reason="r", name="N")


def test_contact_create_and_update(finance_user):
    c = CustomerFactory()
    contact = services.contact_create(
        customer=c, user=finance_user, name="Anne", email="anne@example.com"
    )
    services.contact_update(
        contact=contact, user=finance_user, reason="New address", email="anne.m@example.com"
    )
    contact.refresh_from_db()
    assert contact.email == "anne.m@example.com"
    summaries = list(Activity.objects.filter(customer=c).values_list("summary", flat=True))
    assert any("email" in s for s in summaries) and len(summaries) == 2


def test_a_reminder_recipient_needs_an_email(finance_user):
    c = CustomerFactory()
    with pytest.raises(ValidationError, match="needs an email"):
        services.contact_create(
            customer=c,
            user=finance_user,
            name="Bob",
            email="",
            reminder_role=Contact.ReminderRole.TO,
        )
    assert not Contact.objects.exists()


# The pages


def test_new_customer_page_creates_and_shows_errors(client, finance_user):
    client.force_login(finance_user)
    url = reverse("customers:customer_create")
    base = {
        "customer_ref": "411ACME",
        "name": "Acme",
        "country": "FR",
        "language": "fr",
        "payment_terms_days": "30",
    }
    page = client.post(url, base | {"siren": "123456789"})
    assert page.status_code == 200
    assert "siren" in page.context["form"].errors
    assert not Customer.objects.exists()
    response = client.post(url, base | {"siren": "732 829 320"})
    customer = Customer.objects.get()
    assert response.url == customer.get_absolute_url() and customer.siren == VALID_SIREN
    detail = client.get(customer.get_absolute_url()).content.decode()
    assert Activity.objects.get(customer=customer).summary in detail
    assert reverse("customers:customer_edit", args=[customer.pk]) in detail


def test_edit_page_records_the_reason_on_the_timeline(client, finance_user):
    client.force_login(finance_user)
    c = CustomerFactory(name="Acme", customer_ref="411ACME")
    url = reverse("customers:customer_edit", args=[c.pk])
    data = {
        "customer_ref": "411ACME",
        "name": "Acme France",
        "country": "FR",
        "language": "fr",
        "payment_terms_days": "45",
    }
    page = client.post(url, data)
    assert "reason" in page.context["form"].errors
    c.refresh_from_db()
    assert c.name == "Acme"
    client.post(url, data | {"reason": "Merger"})
    c.refresh_from_db()
    assert (c.name, c.payment_terms_days) == ("Acme France", 45)
    detail = client.get(c.get_absolute_url()).content.decode()
    assert "Merger" in detail


def test_contact_pages(client, finance_user):
    client.force_login(finance_user)
    c = CustomerFactory()
    url = reverse("customers:contact_create", args=[c.pk])
    page = client.post(url, {"name": "Bob", "reminder_role": "to", "invoice_channel": "email"})
    assert page.context["form"].errors
    assert not Contact.objects.exists()
    client.post(
        url,
        {
            "name": "Bob",
            "email": "bob@example.com",
            "reminder_role": "to",
            "invoice_channel": "email",
        },
    )
    contact = Contact.objects.get()
    edit = reverse("customers:contact_edit", args=[c.pk, contact.pk])
    client.post(
        edit,
        {
            "name": "Bob",
            "email": "bob@example.org",
            "reminder_role": "cc",
            "invoice_channel": "email",
            "reason": "Left the company",
        },
    )
    contact.refresh_from_db()
    assert (contact.email, contact.reminder_role) == ("bob@example.org", "cc")


def test_permission_matrix(client, sales_user, other_sales_user, manager_user):
    c = CustomerFactory(sales_rep=sales_user)
    contact = ContactFactory(customer=c)
    urls = [
        reverse("customers:customer_edit", args=[c.pk]),
        reverse("customers:contact_create", args=[c.pk]),
        reverse("customers:contact_edit", args=[c.pk, contact.pk]),
    ]
    client.force_login(other_sales_user)
    assert [client.get(u).status_code for u in urls] == [404, 404, 404]
    for user in (sales_user, manager_user):
        client.force_login(user)
        assert [client.get(u).status_code for u in urls] == [403, 403, 403]
        assert client.get(reverse("customers:customer_create")).status_code == 403
