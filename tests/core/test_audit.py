"""The audit trail (core/audit.py): django-pghistory's triggers record every insert,
update and delete of the tracked models, with old and new values and who did it.

The trail is written by PostgreSQL triggers: the tests that read it are skipped on
SQLite (where nothing is recorded, and nothing must break either: the last tests)."""

from __future__ import annotations

import datetime
import inspect
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands, load_command_class
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from pghistory.models import Events

from core import access, audit
from customers.models import Contact, ContactEvent, Customer, CustomerEvent
from receivables import tasks as receivables_tasks
from receivables.models import AllocationEvent, InstallmentEvent, Invoice, InvoiceEvent
from reminders import tasks as reminders_tasks
from reminders.letters import tasks as letters_tasks
from reminders.models import ScenarioEvent
from tests.factories import ContactFactory, CustomerFactory, make_invoice, make_payment, make_user

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the audit trail is recorded by PostgreSQL triggers only (SQLite keeps none)",
)

PROJECT_APPS = {"core", "customers", "receivables", "reminders", "workplaces"}


def diff_of(obj) -> dict:
    """The last event of ``obj`` through pghistory's aggregate (old and new values)."""
    return Events.objects.tracks(obj).order_by("-pgh_id").first()


@needs_postgresql
def test_a_customer_edited_on_the_web_records_old_and_new_values_and_the_user(client):
    finance = make_user(access.FINANCE, "fin_audit")
    customer = CustomerFactory(name="Acme", customer_ref="411ACME", payment_terms_days=30)
    client.force_login(finance)
    response = client.post(
        reverse("customers:customer_edit", args=[customer.pk]),
        {
            "customer_ref": "411ACME",
            "name": "Acme France",
            "country": "FR",
            "language": "fr",
            "payment_terms_days": "45",
            "reason": "Merger",
        },
    )
    assert response.status_code == 302
    event = CustomerEvent.objects.filter(pgh_obj=customer).latest("pgh_id")
    assert (event.pgh_label, event.name, event.payment_terms_days) == (
        "update",
        "Acme France",
        45,
    )
    metadata = event.pgh_context.metadata
    assert (metadata["user"], metadata["username"]) == (finance.pk, "fin_audit")
    assert metadata["url"] == reverse("customers:customer_edit", args=[customer.pk])
    diff = diff_of(customer).pgh_diff
    assert diff["name"] == ["Acme", "Acme France"]
    assert diff["payment_terms_days"] == [30, 45]


@needs_postgresql
def test_a_bulk_update_and_a_bulk_create_are_recorded():
    """What signal-based history misses: no save(), no signal; the trigger still fires."""
    first, second = CustomerFactory(city="Lyon"), CustomerFactory(city="Lyon")
    with audit.audit_context(user=None, username="script"):
        assert Customer.objects.filter(city="Lyon").update(city="Paris") == 2
    for customer in (first, second):
        event = CustomerEvent.objects.filter(pgh_obj=customer).latest("pgh_id")
        assert (event.pgh_label, event.city) == ("update", "Paris")
        assert event.pgh_context.metadata["username"] == "script"
        assert diff_of(customer).pgh_diff["city"] == ["Lyon", "Paris"]
    Contact.objects.bulk_create(
        [
            Contact(customer=first, name="Ann", email="ann@example.com"),
            Contact(customer=first, name="Bob", email="bob@example.com"),
        ]
    )
    assert set(
        ContactEvent.objects.filter(customer=first, pgh_label="insert").values_list(
            "name", flat=True
        )
    ) == {"Ann", "Bob"}


@needs_postgresql
def test_an_update_that_changes_nothing_and_a_delete():
    contact = ContactFactory(name="Ann")
    Contact.objects.filter(pk=contact.pk).update(name="Ann")  # no change, no event
    assert list(
        ContactEvent.objects.filter(pgh_obj_id=contact.pk).values_list("pgh_label", flat=True)
    ) == ["insert"]
    pk = contact.pk
    contact.delete()
    deleted = ContactEvent.objects.filter(pgh_obj_id=pk).latest("pgh_id")
    assert (deleted.pgh_label, deleted.name) == ("delete", "Ann")  # the history stays


@needs_postgresql
def test_a_payment_records_its_allocation_and_the_installment_paid(clock):
    customer = CustomerFactory()
    invoice = make_invoice(customer, amount="100.00")
    payment = make_payment(customer, date=clock.today, amount="40.00", invoice=invoice)
    allocation = payment.allocations.get()
    event = AllocationEvent.objects.get(pgh_obj=allocation)
    assert (event.pgh_label, event.amount, event.payment_id) == (
        "insert",
        Decimal("40.00"),
        payment.pk,
    )
    installment = invoice.installments.get()
    assert diff_of(installment).pgh_diff["paid_amount"] == [0.0, 40.0]
    assert InstallmentEvent.objects.filter(pgh_obj=installment, pgh_label="update").exists()


@needs_postgresql
def test_a_command_s_changes_carry_its_name(tmp_path, clock):
    customer = CustomerFactory()
    path = tmp_path / "invoices.csv"
    issue, due = clock.today - datetime.timedelta(days=5), clock.today + datetime.timedelta(25)
    path.write_text(
        "customer_ref,customer_name,invoice_number,issue_date,due_date,amount\n"
        f"{customer.customer_ref},{customer.name},F-AUDIT-1,{issue},{due},120.00\n"
    )
    call_command("import_invoices", str(path), stdout=None)
    invoice = Invoice.objects.get(number="F-AUDIT-1")
    event = InvoiceEvent.objects.get(pgh_obj=invoice, pgh_label="insert")
    assert event.pgh_context.metadata == {"command": "import_invoices"}
    assert audit.actor(event.pgh_context.metadata) == "manage.py import_invoices"


@needs_postgresql
def test_a_task_s_changes_carry_its_name():
    customer = CustomerFactory(city="Lyon")

    def move(pk: int) -> None:
        Customer.objects.filter(pk=pk).update(city="Nantes")

    audit.audited_task(move)(customer.pk)
    event = CustomerEvent.objects.filter(pgh_obj=customer).latest("pgh_id")
    assert event.pgh_context.metadata["task"].endswith(
        "test_a_task_s_changes_carry_its_name.<locals>.move"
    )


@needs_postgresql
def test_events_cannot_be_changed_or_deleted_even_in_sql():
    customer = CustomerFactory()
    event = CustomerEvent.objects.get(pgh_obj=customer)
    for statement in (
        "UPDATE customers_customerevent SET name = 'forged' WHERE pgh_id = %s",
        "DELETE FROM customers_customerevent WHERE pgh_id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pgh_id])
    event.refresh_from_db()
    assert event.name == customer.name


@needs_postgresql
def test_the_admin_lists_events_filtered_and_read_only(admin_client):
    finance = make_user(access.FINANCE, "fin_admin")
    customer = CustomerFactory(name="Before")
    with audit.audit_context(user=finance.pk, username=finance.username):
        Customer.objects.filter(pk=customer.pk).update(name="After")
    url = reverse("admin:customers_customerevent_changelist")
    page = admin_client.get(url, {"user": finance.pk, "pgh_label": "update"})
    assert page.status_code == 200
    assert list(page.context["cl"].queryset.values_list("name", flat=True)) == ["After"]
    assert "fin_admin" in page.content.decode()
    by_row = admin_client.get(url, {"q": str(customer.pk)})
    assert by_row.context["cl"].queryset.count() == 2  # insert and update
    assert admin_client.get(url, {"q": "abc"}).context["cl"].queryset.count() == 0
    assert admin_client.get(url, {"user": get_user_model().objects.count() + 99}).status_code == 200


def test_the_admin_refuses_adding_changing_and_deleting_events(admin_client):
    """Even a superuser: the event pages are read-only (whatever the database)."""
    event = None
    if audit.recorded():
        event = CustomerEvent.objects.get(pgh_obj=CustomerFactory())
    for name in ("customerevent", "contactevent"):
        assert admin_client.get(reverse(f"admin:customers_{name}_add")).status_code == 403
        assert admin_client.post(reverse(f"admin:customers_{name}_add"), {}).status_code == 403
    for label in (
        "receivables_invoiceevent",
        "receivables_installmentevent",
        "receivables_paymentevent",
        "receivables_allocationevent",
        "receivables_companyprofileevent",
        "reminders_scenarioevent",
        "reminders_scenariostepevent",
        "reminders_customerscenarioevent",
    ):
        assert admin_client.get(reverse(f"admin:{label}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:{label}_add")).status_code == 403
    if event is not None:
        change = reverse("admin:customers_customerevent_change", args=[event.pk])
        page = admin_client.get(change)
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        assert admin_client.post(change, {"name": "forged"}).status_code == 403
        delete = reverse("admin:customers_customerevent_delete", args=[event.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        event.refresh_from_db()
    changelist = reverse("admin:customers_customerevent_changelist")
    response = admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [event.pk] if event else []},
    )
    assert response.status_code in (200, 302)
    assert CustomerEvent.objects.count() == (1 if event else 0)


def test_every_command_of_the_project_is_audited():
    """A command must say its name to the trail: it derives from AuditedCommand."""
    ours = {name: app for name, app in get_commands().items() if app in PROJECT_APPS}
    assert ours, "the project's commands are found"
    for name, app in ours.items():
        assert isinstance(load_command_class(app, name), audit.AuditedCommand), name


def test_every_task_is_audited():
    """A django-q2 task (a public function of a tasks module) says its name too."""
    for module in (reminders_tasks, receivables_tasks, letters_tasks):
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ == module.__name__ and not name.startswith("_"):
                assert hasattr(func, "__wrapped__"), f"{module.__name__}.{name}"


@pytest.mark.skipif(connection.vendor == "postgresql", reason="what SQLite does")
def test_on_sqlite_nothing_is_recorded_and_nothing_breaks(client):
    finance = make_user(access.FINANCE, "fin_sqlite")
    customer = CustomerFactory()
    client.force_login(finance)
    assert not audit.recorded()
    with audit.audit_context(user=finance.pk):
        Customer.objects.filter(pk=customer.pk).update(city="Paris")
    assert CustomerEvent.objects.count() == ScenarioEvent.objects.count() == 0
    page = client.get(reverse("workplaces:customer_history", args=[customer.pk]))
    assert page.context["recorded"] is False and page.context["changes"] == []
    assert "(SQLite)" in page.content.decode()  # the page says why it is empty
