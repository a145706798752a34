"""The commands' date and other options fed hostile values: each ends normally or with a
``CommandError`` (exit 1 and its message), never with a traceback."""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.factories import make_invoice, make_reminder_customer
from tests.hostile import strategies as hs

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

EXAMPLES = 20
NUMBERS = itertools.count()
HOSTILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


@pytest.fixture
def overdue(db, settings, tmp_path):
    """A customer with invoices at every stage, so each command has work to do."""
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = make_reminder_customer("411CMD")
    today = timezone.localdate()
    for days, number in ((5, "C-1"), (40, "C-2"), (400, "C-3")):
        issued = today - timezone.timedelta(days=days + 30)
        make_invoice(
            customer,
            number=number,
            issue_date=issued,
            due_date=issued + timezone.timedelta(days=30),
        )
    return tmp_path


def ends_cleanly(command: str, *args: str) -> None:
    """Exit 0, or a ``CommandError`` with a message: any other exception fails the test.
    Each call is rolled back, so the next one finds the same ledger."""
    with transaction.atomic():
        try:
            call_command(command, *args, stdout=io.StringIO(), stderr=io.StringIO())
        except CommandError as error:
            assert str(error).strip(), f"{command} {args}: a refusal without a message"
        transaction.set_rollback(True)


DAYS = hs.date_text()


@HOSTILE
@given(day=DAYS, mode=st.sampled_from([[], ["--dry-run"], ["--force"]]))
@example(day="0001-01-01", mode=[])
@example(day="9999-12-31", mode=["--force"])
@example(day="9999-12-31", mode=["--dry-run"])
def test_run_reminders_date(overdue, day, mode):
    ends_cleanly("run_reminders", f"--date={day}", *mode)


@HOSTILE
@given(day=DAYS, fmt=st.sampled_from(["csv", "json"]))
@example(day="0001-01-01", fmt="csv")
@example(day="9999-12-31", fmt="json")
def test_aged_balance_as_of(overdue, day, fmt):
    ends_cleanly("aged_balance", f"--as-of={day}", f"--format={fmt}")


@HOSTILE
@given(day=DAYS, ref=st.one_of(st.just("411CMD"), hs.hostile_text(200)))
@example(day="0001-01-01", ref="411CMD")
@example(day="9999-12-31", ref="411CMD")
@example(day="2026-11-18", ref="411\x00CMD")
def test_render_letter_date_and_customer(overdue, day, ref):
    output = overdue / f"letter-{next(NUMBERS)}.pdf"
    ends_cleanly("render_letter", ref, f"--output={output}", f"--date={day}")
