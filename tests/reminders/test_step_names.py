"""Scenario steps are named in French and in English: pages show the user's language,
emails and letters the customer's (reminders.models.ScenarioStep.label)."""

import pytest
from django.utils import translation

from reminders.models import ScenarioStep
from reminders.run import plan

pytestmark = pytest.mark.django_db

ENGLISH = ["First reminder", "Second reminder", "Last reminder", "Formal notice", "Collection"]
FRENCH = [
    "Première relance",
    "Deuxième relance",
    "Dernière relance",
    "Mise en demeure",
    "Recouvrement",
]


def default_steps():
    return list(ScenarioStep.objects.filter(scenario__is_default=True).order_by("position"))


def test_the_migration_names_the_default_steps_in_english():
    steps = default_steps()
    assert [s.name for s in steps] == FRENCH
    assert [s.name_en for s in steps] == ENGLISH


def test_label_in_a_given_or_the_active_language():
    last = default_steps()[-1]
    assert last.label("en") == "Collection" and last.label("fr") == "Recouvrement"
    with translation.override("en"):
        assert last.display_name == "Collection"
    with translation.override("fr"):
        assert last.display_name == "Recouvrement"
    last.name_en = ""  # no English name: the French one
    assert last.label("en") == "Recouvrement"


def test_the_planners_steps_and_next_step_are_named_in_the_active_language():
    scenarios = plan.load_scenarios()
    step = scenarios.by_id[default_steps()[-1].pk]
    with translation.override("en"):
        assert step.display_name == "Collection"
        assert plan.NextStep(step=step, on=None).name == "Collection"  # type: ignore[arg-type]
    with translation.override("fr"):
        assert plan.NextStep(step=step, on=None).name == "Recouvrement"  # type: ignore[arg-type]
