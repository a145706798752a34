"""Drop customers.Customer.scenario: the link now lives in reminders.CustomerScenario
(reminders 0005 copied the rows first, hence the dependency)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0002_userpreferences"),
        ("reminders", "0005_customerscenario"),
    ]

    operations = [
        migrations.RemoveField(model_name="customer", name="scenario"),
    ]
