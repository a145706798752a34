"""The company profile now lives in receivables (receivables/0007 took over its table and
its rows): it leaves this app's state only, nothing is dropped."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0006_money_field"),
        ("receivables", "0007_companyprofile"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CompanyProfile")],
        ),
    ]
