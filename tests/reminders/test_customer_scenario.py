"""A customer's own scenario: the link lives in the reminders app (CustomerScenario), the
daily run follows it, the customer page and the admin show it, and the migration that
moved it from customers.Customer.scenario kept every assignment."""

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from reminders import services
from reminders.models import CustomerScenario, Scenario, ScenarioStep
from tests.factories import make_invoice, make_reminder_customer

D = datetime.date


@pytest.fixture
def gentle(db):
    """A scenario whose only step is an email five days after the due date."""
    scenario = Scenario.objects.create(name="Gentle")
    ScenarioStep.objects.create(
        scenario=scenario, position=1, name="Gentle reminder", offset_days=5, action="email"
    )
    return scenario


@pytest.mark.django_db
def test_the_daily_run_follows_the_customers_own_scenario(gentle, company_profile):
    own = make_reminder_customer("OWN")
    CustomerScenario.objects.create(customer=own, scenario=gentle)
    default = make_reminder_customer("DEF")
    for customer in (own, default):
        make_invoice(customer, issue_date=D(2026, 3, 2), due_date=D(2026, 4, 1))
    services.reminders_run(run_date=D(2026, 4, 2))  # default step 1: due + 1 day
    assert [m.to for m in mail.outbox] == [["def@client.example"]]
    services.reminders_run(run_date=D(2026, 4, 3))
    assert len(mail.outbox) == 1  # the gentle step waits for due + 5 days
    # Due + 5 days is Easter Monday 6 April: it leaves on Tuesday 7 April.
    services.reminders_run(run_date=D(2026, 4, 7))
    assert [m.to for m in mail.outbox][1:] == [["own@client.example"]]
    assert (
        CustomerScenario.objects.get(customer=own).scenario.steps.get().reminders.get().customer
        == own
    )


@pytest.mark.django_db
def test_the_customer_page_and_the_admin_show_the_scenario(client, gentle, finance_user):
    own = make_reminder_customer("OWN")
    CustomerScenario.objects.create(customer=own, scenario=gentle)
    other = make_reminder_customer("DEF")
    client.force_login(finance_user)
    page = client.get(
        reverse("workplaces:customer_detail", args=[own.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Gentle" in page.content.decode()
    page = client.get(
        reverse("workplaces:customer_detail", args=[other.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Default scenario" in page.content.decode()
    finance_user.is_staff = finance_user.is_superuser = True
    finance_user.save()
    admin_page = client.get(reverse("admin:customers_customer_change", args=[own.pk]))
    assert admin_page.status_code == 200
    assert "reminder_scenario-0-scenario" in admin_page.content.decode()


# Serialized rollback: the flush after this test must not recreate the content types
# that the next transactional test restores.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_moved_every_assignment():
    before = [("customers", "0002_userpreferences"), ("reminders", "0004_daily_schedule")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    scenario = old.get_model("reminders", "Scenario").objects.create(name="Old custom")
    Customer = old.get_model("customers", "Customer")
    assigned = Customer.objects.create(customer_ref="A1", name="Assigned", scenario=scenario)
    Customer.objects.create(customer_ref="B1", name="Default")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    rows = list(CustomerScenario.objects.values_list("customer_id", "scenario__name"))
    assert rows == [(assigned.pk, "Old custom")]
