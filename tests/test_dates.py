"""Dates typed by people are read one way everywhere (core/dates.py): ``YYYY-MM-DD`` or
``DD/MM/YYYY``, never guessed; the commands, the imports and every date field of the
pages use that one parser and that one widget."""

import datetime
import importlib
import inspect
import re
from io import StringIO
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import translation

from core.dates import DateParseError, DayField, DayInput, parse_day, parse_day_option
from receivables.imports.parsing import CellError
from receivables.imports.parsing import parse_date as parse_cell_date

d = datetime.date


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-03-04", d(2026, 3, 4)),
        ("2026-3-4", d(2026, 3, 4)),
        ("04/03/2026", d(2026, 3, 4)),
        ("4/3/2026", d(2026, 3, 4)),
        (" 29/02/2028 ", d(2028, 2, 29)),
    ],
)
def test_the_two_accepted_forms(text, day):
    assert parse_day(text) == day
    assert parse_cell_date(text) == day


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31/02/2026", "31/02/2026 is not a valid date."),
        ("2026-13-01", "2026-13-01 is not a valid date."),
        ("03-15-2026", "03-15-2026 is not a date; write YYYY-MM-DD or DD/MM/YYYY."),
        ("15.03.2026", "15.03.2026 is not a date; write YYYY-MM-DD or DD/MM/YYYY."),
        ("15/03/26", "15/03/26 is not a date; write YYYY-MM-DD or DD/MM/YYYY."),
        ("", " is not a date; write YYYY-MM-DD or DD/MM/YYYY."),
    ],
)
def test_anything_else_is_refused_with_a_clear_message(text, message):
    with pytest.raises(DateParseError) as error:
        parse_day(text)
    assert str(error.value) == message
    with pytest.raises(CellError, match=re.escape(message.strip())):
        parse_cell_date(text)


def test_the_message_is_translated():
    with translation.override("fr"), pytest.raises(DateParseError) as error:
        parse_day("31/02/2026")
    assert str(error.value) == "31/02/2026 n'est pas une date valide."


def test_a_command_option_names_itself():
    assert parse_day_option("2026-03-04", "--date") == d(2026, 3, 4)
    with pytest.raises(CommandError) as error:
        parse_day_option("yesterday", "--as-of")
    assert str(error.value) == (
        "Invalid date for --as-of: yesterday is not a date; write YYYY-MM-DD or DD/MM/YYYY."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("aged_balance", ["--as-of"]),
        ("run_reminders", ["--date"]),
        ("render_letter", ["411X", "--output", "never-written.pdf", "--date"]),
    ],
)
def test_every_command_reads_dates_the_same_way(command, args):
    option = args[-1]
    with pytest.raises(CommandError, match=f"Invalid date for {option}: 31/02/2026 is not"):
        call_command(command, *args, "31/02/2026", stdout=StringIO())


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_field_reads_day_first_in_every_language(language):
    class F(forms.Form):
        day = DayField()

    with translation.override(language):
        form = F({"day": "04/03/2026"})
        assert form.is_valid() and form.cleaned_data["day"] == d(2026, 3, 4)
        iso = F({"day": "2026-03-04"})
        assert iso.is_valid() and iso.cleaned_data["day"] == d(2026, 3, 4)
        wrong = F({"day": "03/15/2026"})  # month first: refused, not guessed
        assert not wrong.is_valid()
        assert wrong.errors["day"] == [str(forms.DateField.default_error_messages["invalid"])]


def test_the_widget_is_the_date_picker_with_an_iso_value():
    html = DayInput().render("day", d(2026, 3, 4))
    assert 'type="date"' in html and 'value="2026-03-04"' in html
    with translation.override("fr"):
        assert 'value="2026-03-04"' in DayInput().render("day", d(2026, 3, 4))


FORM_MODULES = [
    "customers.forms",
    "receivables.forms",
    "receivables.views",
    "reminders.forms",
    "reminders.letters.views",
    "workplaces.forms",
    "workplaces.views.reports",
]


def test_every_date_field_of_the_pages_is_the_one_field():
    seen = 0
    for name in FORM_MODULES:
        for _name, form in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if not issubclass(form, forms.BaseForm) or form.__module__ != name:
                continue
            for field_name, field in form.base_fields.items():
                if isinstance(field, forms.DateField):
                    seen += 1
                    assert type(field) is DayField, f"{form.__name__}.{field_name}"
                    assert isinstance(field.widget, DayInput), f"{form.__name__}.{field_name}"
    assert seen >= 10


def test_no_other_date_parser_or_widget_in_the_code():
    offenders = []
    for app in ("core", "customers", "receivables", "reminders", "workplaces"):
        for path in Path(settings.BASE_DIR, app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "dates.py":
                continue
            text = path.read_text()
            if re.search(r"strptime|DateInput\(", text):
                offenders.append(str(path))
    assert offenders == []
