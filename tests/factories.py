"""factory_boy factories shared by every test module."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from core import access
from customers.models import Contact, Customer
from receivables import services
from receivables.models import CompanyProfile, Invoice, Payment


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-test-1234")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            group, _ = Group.objects.get_or_create(name=extracted)
            self.groups.add(group)


def make_user(role: str | None, username: str | None = None) -> User:
    kwargs = {"role": role}
    if username:
        kwargs["username"] = username
    return UserFactory(**kwargs)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    customer_ref = factory.Sequence(lambda n: f"411C{n:05d}")
    name = factory.Sequence(lambda n: f"Client {n} SAS")
    city = "Lyon"
    postal_code = "69002"
    address_line1 = "12 rue de la République"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.LazyAttribute(lambda c: f"compta{c.customer.pk}@example.com")
    role = "Comptable"


def make_invoice(
    customer: Customer | None = None,
    *,
    number: str | None = None,
    issue_date: datetime.date = datetime.date(2026, 1, 1),
    due_date: datetime.date | None = None,
    amount: Decimal | str = "1000.00",
    plan: str = "single",
    parts: int | None = None,
) -> Invoice:
    """An invoice with its installment plan, through the real service (confirmed: tests
    build histories older than a year on purpose)."""
    customer = customer or CustomerFactory()
    make_invoice.counter += 1
    return services.invoice_create(
        customer=customer,
        number=number or f"F{make_invoice.counter:06d}",
        issue_date=issue_date,
        due_date=due_date or issue_date + datetime.timedelta(days=30),
        amount=Decimal(amount),
        plan=plan,
        parts=parts,
        confirmed=True,
    )


make_invoice.counter = 0


def make_payment(
    customer: Customer, *, date: datetime.date, amount: Decimal | str, **kwargs
) -> Payment:
    return services.payment_record(customer=customer, date=date, amount=Decimal(amount), **kwargs)


ROLES = (access.FINANCE, access.SALES, access.MANAGER)


# --- reminders ---------------------------------------------------------------------------


def make_company_profile(**kwargs):
    """The creditor's profile with bank details, as reminders render them."""

    defaults = {
        "name": "Relance demo SAS",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP",
        "bank_name": "Crédit Agricole",
        "email": "compta@relance.example",
        "phone": "01 23 45 67 89",
        "signatory_name": "Marie Curie",
        "signatory_title": "Credit manager",
    }
    profile = CompanyProfile.get()
    for key, value in (defaults | kwargs).items():
        setattr(profile, key, value)
    profile.save()
    return profile


def make_reminder_customer(
    ref: str, *, language: str = "fr", cc: str | None = None, **kwargs
) -> Customer:
    """A customer with a billing contact who receives reminders (and an optional cc)."""
    customer = CustomerFactory(customer_ref=ref, name=f"{ref} SARL", language=language, **kwargs)
    Contact.objects.create(
        customer=customer,
        name=f"Compta {ref}",
        email=f"{ref.lower()}@client.example",
        reminder_role=Contact.ReminderRole.TO,
    )
    if cc:
        Contact.objects.create(
            customer=customer, name="Copie", email=cc, reminder_role=Contact.ReminderRole.CC
        )
    return customer


def unallocated_credit(customer: Customer) -> Decimal:
    """The customer's payments and credit notes not allocated today, as every page reads
    it (receivables.selectors.with_balances)."""
    from django.utils import timezone

    from core.money import to_cents
    from receivables.selectors import with_balances

    row = with_balances(Customer.objects.filter(pk=customer.pk), timezone.localdate()).get()
    return to_cents(row.credit)
