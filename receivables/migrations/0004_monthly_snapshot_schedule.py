"""Create (or update) the django-q2 schedule of the monthly aged-balance snapshot: on
the 1st of every month at 06:00 Europe/Paris, the snapshot as of the last day of the
previous month. django-q2 keeps the local hour across DST changes for MONTHLY schedules,
and catch_up=False (settings) means an outage does not replay missed months; the task is
idempotent anyway."""

import datetime
from zoneinfo import ZoneInfo

from django.db import migrations

SCHEDULE_NAME = "monthly-aged-balance-snapshot"


def first_of_next_month_six_am() -> datetime.datetime:
    now = datetime.datetime.now(tz=ZoneInfo("Europe/Paris"))
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime.datetime(year, month, 1, 6, 0, tzinfo=ZoneInfo("Europe/Paris"))


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "receivables.tasks.take_monthly_snapshot",
            "schedule_type": "M",
            "repeats": -1,
            "next_run": first_of_next_month_six_am(),
            "intended_date_kwarg": "scheduled_for",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("receivables", "0003_agedbalancesnapshot"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(create_schedule, remove_schedule),
    ]
