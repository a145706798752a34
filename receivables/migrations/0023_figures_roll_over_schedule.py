"""The daily roll-over of the stored figures (receivables/figures.py): at 00:05
Europe/Paris every day, every customer's ageing buckets are moved to the new day in one
statement, so the first page of the morning does not wait for it. django-q2 keeps the
local hour across DST changes for DAILY schedules; a missed run changes nothing (the first
read or change of the day does the same work)."""

import datetime
from zoneinfo import ZoneInfo

from django.db import migrations

SCHEDULE_NAME = "receivables: figures roll-over"


def next_five_past_midnight() -> datetime.datetime:
    now = datetime.datetime.now(tz=ZoneInfo("Europe/Paris"))
    tomorrow = now.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(tomorrow, datetime.time(0, 5), tzinfo=ZoneInfo("Europe/Paris"))


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "receivables.tasks.figures_roll_over",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_five_past_midnight(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("receivables", "0022_stored_figures"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
