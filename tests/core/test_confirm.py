"""Warnings a person confirms (core/confirm.py): only a refusal made of warnings asks
for a confirmation, and the form's box shows once asked, unticked."""

from django.core.exceptions import ValidationError

from core.confirm import ConfirmableForm, asks_confirmation, confirmation_needed


def test_only_warnings_ask_for_a_confirmation():
    assert asks_confirmation(confirmation_needed(["old date", "no PO"]))
    assert not asks_confirmation(ValidationError("refused"))
    mixed = ValidationError([*confirmation_needed(["old date"]).error_list, ValidationError("no")])
    assert not asks_confirmation(mixed)
    assert not asks_confirmation(ValidationError({"amount": "refused"}))


def test_the_box_is_hidden_until_asked_then_shown_unticked():
    form = ConfirmableForm(data={})
    assert form.is_valid() and not form.confirmed
    assert 'type="hidden"' in str(form["confirm"])
    form.ask_confirmation(confirmation_needed(["Old date."]))
    assert form.asking_confirmation
    html = str(form["confirm"])
    assert 'type="checkbox"' in html and "checked" not in html
    assert form.non_field_errors() == ["Old date."]


def test_a_ticked_box_confirms_and_stays_visible():
    form = ConfirmableForm(data={"confirm": "on"})
    assert form.is_valid() and form.confirmed
    assert 'type="checkbox"' in str(form["confirm"])
