"""Ship the default scenario (DESIGN.md: +1, +8, +15 emails, +30 formal notice with
approval, +45 collection hand-off) and its French and English wording."""

from django.db import migrations


def create_default_scenario(apps, schema_editor):
    from reminders.default_texts import DEFAULT_SCENARIO_NAME, DEFAULT_STEPS, DEFAULT_TEMPLATES

    Scenario = apps.get_model("reminders", "Scenario")
    ScenarioStep = apps.get_model("reminders", "ScenarioStep")
    ReminderTemplate = apps.get_model("reminders", "ReminderTemplate")
    scenario = Scenario.objects.filter(is_default=True).first()
    if scenario is None:
        scenario, _ = Scenario.objects.get_or_create(name=DEFAULT_SCENARIO_NAME)
        scenario.is_default = True
        scenario.save(update_fields=["is_default"])
    if scenario.steps.exists():
        return
    for position, name, offset, action, phone_task, approval in DEFAULT_STEPS:
        step = ScenarioStep.objects.create(
            scenario=scenario, position=position, name=name, offset_days=offset,
            action=action, also_phone_task=phone_task, approval_required=approval,
        )
        for language in ("fr", "en"):
            texts = DEFAULT_TEMPLATES.get((position, language))
            if texts:
                ReminderTemplate.objects.create(
                    step=step, language=language, subject=texts[0], body_text=texts[1],
                    body_html=texts[2],
                )


class Migration(migrations.Migration):

    dependencies = [
        ("reminders", "0002_engine"),
    ]

    operations = [
        migrations.RunPython(create_default_scenario, migrations.RunPython.noop),
    ]
