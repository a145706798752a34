"""A name for each scenario step in English beside the French one, so that English pages,
emails and letters no longer show "Recouvrement"; the default scenario's steps get theirs
(those an administrator renamed in French keep an empty English name: the French one)."""

from django.db import migrations, models


def name_default_steps_in_english(apps, schema_editor):
    from reminders.default_texts import DEFAULT_STEP_NAMES_EN, DEFAULT_STEPS

    ScenarioStep = apps.get_model("reminders", "ScenarioStep")
    french = {position: name for position, name, *_ in DEFAULT_STEPS}
    for step in ScenarioStep.objects.filter(scenario__is_default=True, name_en=""):
        if french.get(step.position) == step.name:
            step.name_en = DEFAULT_STEP_NAMES_EN[step.position]
            step.save(update_fields=["name_en"])


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0007_companyprofile_moved"),
    ]

    operations = [
        migrations.AddField(
            model_name="scenariostep",
            name="name_en",
            field=models.CharField(
                blank=True,
                help_text="Empty: the French name.",
                max_length=100,
                verbose_name="name (English)",
            ),
        ),
        migrations.AlterField(
            model_name="scenariostep",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name (French)"),
        ),
        migrations.RunPython(name_default_steps_in_english, migrations.RunPython.noop),
    ]
