"""What the hostile-input fuzzers found, pinned: each example as hypothesis first gave it."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from customers.validators import compact_siren, compact_vat_number
from receivables import services
from receivables.plans import PlanKind
from tests.factories import make_reminder_customer
from tests.hostile.ledger import changed, fingerprint

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]


@pytest.mark.parametrize("typed", ["1' OR '1'='1", "0", "XX123", "FR 12 345", "é"])
def test_a_vat_number_stdnum_cannot_compact_is_refused_with_a_message(client, world, typed):
    """Was a 500 (stdnum's InvalidComponent out of ``vat.compact``) on the customer form."""
    client.force_login(world["users"]["finance"])
    before = fingerprint()
    response = client.post(
        reverse("customers:customer_create"),
        {"customer_ref": "HOSTILE", "name": "Hostile", "vat_number": typed},
        headers={"accept-language": "fr"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["vat_number"]
    assert not changed(before, fingerprint())


def test_compacting_never_raises():
    assert compact_vat_number("1' OR '1'='1") == "1' OR '1'='1"
    assert compact_vat_number(" FR 40 303 265 045 ") == "FR40303265045"
    assert compact_siren("732 829 320") == "732829320"
    assert compact_siren("") == compact_vat_number("") == ""


@pytest.mark.parametrize(
    "target", ["0", "workplaces:dashboard", "/\r\nSet-Cookie: x=1", "\u202e/", "//evil.example/"]
)
def test_a_worklist_action_with_an_odd_next_goes_back_to_the_dashboard(client, world, target):
    """Was a 500: ``next=0`` reached ``redirect()``, which took it for a view name."""
    client.force_login(world["users"]["finance"])
    task = world["task"]
    url = reverse("workplaces:worklist_call", kwargs={"section": "tasks", "pk": task.pk})
    response = client.post(url, {"outcome": "Reached", "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("workplaces:dashboard")


@pytest.mark.parametrize("as_of", ["0001-01-01", "31/12/9999", "1998-12-31"])
def test_an_aged_balance_outside_the_window_is_a_message(client, world, as_of):
    """Was a 500 (OverflowError in the age buckets) for year 1 and 9999."""
    client.force_login(world["users"]["manager"])
    response = client.get(reverse("receivables:aged_balance"), {"as_of": as_of})
    assert response.status_code in (200, 400)
    assert response.context["form"].errors["as_of"]
    csv = client.get(reverse("receivables:aged_balance_csv"), {"as_of": as_of})
    assert csv.status_code in (200, 400)


@pytest.mark.parametrize(
    ("command", "option"),
    [("run_reminders", "--date"), ("aged_balance", "--as-of"), ("render_letter", "--date")],
)
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_command_dated_outside_the_window_is_a_command_error(
    world, tmp_path, command, option, day
):
    """Was an OverflowError traceback (promise grace days, age buckets, interest)."""
    args = [world["customer"].customer_ref, f"--output={tmp_path / 'l.pdf'}"] * (
        command == "render_letter"
    )
    with pytest.raises(CommandError, match=f"Invalid date for {option}"):
        call_command(command, *args, f"{option}={day}", stdout=io.StringIO())


def test_render_letter_with_a_nul_in_the_reference_names_no_one(world, tmp_path):
    """Was a DataError traceback (PostgreSQL refuses NUL in a query)."""
    with pytest.raises(CommandError, match="No customer"):
        call_command(
            "render_letter", "411\x00X", f"--output={tmp_path / 'l.pdf'}", stdout=io.StringIO()
        )


@pytest.mark.parametrize(
    "days",
    [
        [datetime.date(9999, 12, 31)],
        [datetime.date(2026, 11, 18), datetime.date(2036, 11, 18)],
    ],
)
def test_a_custom_plan_with_parts_years_ahead_is_refused(db, days):
    """Was accepted: a custom plan's parts were only checked for their order, so a part
    due in 9999 entered the ledger (where the daily run skips it as implausible)."""
    customer = make_reminder_customer("411PLAN")
    share = Decimal("100.00")
    before = fingerprint()
    with pytest.raises(ValidationError, match=r"(too far|a year after|months)"):
        services.invoice_create(
            customer=customer,
            number="PLAN-1",
            issue_date=datetime.date(2026, 11, 18),
            due_date=datetime.date(2026, 11, 18),
            amount=share * len(days),
            plan=PlanKind.CUSTOM,
            custom=[(day, share) for day in days],
        )
    assert not changed(before, fingerprint())


def test_a_custom_plan_within_its_span_is_accepted(db):
    customer = make_reminder_customer("411PLAN")
    invoice = services.invoice_create(
        customer=customer,
        number="PLAN-2",
        issue_date=datetime.date(2026, 11, 18),
        due_date=datetime.date(2026, 12, 18),
        amount=Decimal("300.00"),
        plan=PlanKind.CUSTOM,
        custom=[(datetime.date(2026, 12, 18), Decimal("100.00")),
                (datetime.date(2027, 6, 18), Decimal("100.00")),
                (datetime.date(2036, 10, 31), Decimal("100.00"))],
    )  # fmt: skip
    assert invoice.installments.count() == 3
