"""The webhook retries: every minute, the deliveries whose next attempt is due are tried
again (the first attempt is queued as soon as the change commits). And once a day, the
answers kept for the API's idempotency keys are forgotten after a week."""

from django.db import migrations
from django.utils import timezone

SCHEDULE_NAME = "webhooks: retries"
PURGE_NAME = "api: forget idempotency keys"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "core.webhooks.deliver_due",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )
    Schedule.objects.update_or_create(
        name=PURGE_NAME,
        defaults={
            "func": "core.tokens.idempotency_purge",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    names = [SCHEDULE_NAME, PURGE_NAME]
    apps.get_model("django_q", "Schedule").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_api_tokens_webhooks"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
