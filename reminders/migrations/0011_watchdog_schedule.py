"""The watchdog of the daily run: every 5 minutes, a batch stranded by a crashed sender
is settled (what never reached the mail server is sent again, what did without an answer
goes to the worklist as "unknown")."""

from django.db import migrations
from django.utils import timezone

SCHEDULE_NAME = "reminders: watchdog"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "reminders.tasks.recover_stranded_sends",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0010_sending_progress"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
