"""The customer → scenario link moves from customers.Customer.scenario to the reminders
app (CustomerScenario), so that the schema points down like the code: a customer knows
nothing of reminders. The rows are copied here; customers 0003 then drops the column."""

import django.db.models.deletion
from django.db import migrations, models


def copy_assignments(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    CustomerScenario = apps.get_model("reminders", "CustomerScenario")
    if not any(f.name == "scenario" for f in Customer._meta.get_fields()):
        return  # a database created after the move: nothing to copy
    CustomerScenario.objects.bulk_create(
        CustomerScenario(customer_id=pk, scenario_id=scenario_id)
        for pk, scenario_id in Customer.objects.filter(scenario__isnull=False).values_list(
            "pk", "scenario_id"
        )
    )


def copy_back(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    CustomerScenario = apps.get_model("reminders", "CustomerScenario")
    for row in CustomerScenario.objects.all():
        Customer.objects.filter(pk=row.customer_id).update(scenario_id=row.scenario_id)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0002_userpreferences"),
        ("reminders", "0004_daily_schedule"),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerScenario",
            fields=[
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="reminder_scenario",
                        serialize=False,
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "scenario",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assignments",
                        to="reminders.scenario",
                        verbose_name="reminder scenario",
                    ),
                ),
            ],
            options={
                "verbose_name": "customer's scenario",
                "verbose_name_plural": "customers' scenarios",
            },
        ),
        migrations.RunPython(copy_assignments, copy_back),
    ]
