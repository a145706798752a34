"""The company profile now lives in receivables (receivables/0005 took over its table and
its rows): it leaves this app's state only, nothing is dropped."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0004_daily_schedule"),
        ("receivables", "0005_companyprofile"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CompanyProfile")],
        ),
    ]
