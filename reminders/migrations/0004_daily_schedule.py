"""Create (or update) the django-q2 schedule of the daily reminder run: every day at
07:00 Europe/Paris. django-q2 keeps the local hour across DST changes for DAILY
schedules, and catch_up=False (settings) means an outage does not replay missed days."""

import datetime
from zoneinfo import ZoneInfo

from django.db import migrations

SCHEDULE_NAME = "reminders: daily run"


def next_seven_am() -> datetime.datetime:
    paris = ZoneInfo("Europe/Paris")
    now = datetime.datetime.now(tz=paris)
    run = now.replace(hour=7, minute=0, second=0, microsecond=0)
    if run <= now:
        run = (now + datetime.timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    return run


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "reminders.tasks.run_daily_reminders",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_seven_am(),
            "intended_date_kwarg": "scheduled_for",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("reminders", "0003_default_scenario"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(create_schedule, remove_schedule),
    ]
