"""The three workplaces, as their users use them, in Chromium: finance works the
dashboard (logs a call, approves a formal notice), a manager takes and downloads a
monthly snapshot."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from core import access
from customers.models import Activity
from reminders.models import Reminder, ScenarioStep
from tests.e2e.conftest import screenshot
from tests.factories import (
    CustomerFactory,
    make_company_profile,
    make_invoice,
    make_reminder_customer,
    make_user,
)
from tests.reminders.test_letters_workflow import letter_awaiting_approval

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "pw-test-1234"  # tests.factories.UserFactory's


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login/" not in page.url


@pytest.fixture
def worklist(live_server):
    """A phone task and a formal notice awaiting approval on today's worklist."""
    make_company_profile()
    today = timezone.localdate()
    caller = make_reminder_customer("411CALL")
    make_invoice(
        caller,
        issue_date=today - datetime.timedelta(days=46),
        due_date=today - datetime.timedelta(days=16),
        amount="2400.00",
    )
    task = Reminder.objects.create(
        customer=caller,
        step=ScenarioStep.objects.get(scenario__is_default=True, position=3),
        channel=Reminder.Channel.PHONE,
        status=Reminder.Status.TODO,
        run_date=today,
        total_amount="2400.00",
    )
    late = make_reminder_customer("411LATE")
    make_invoice(
        late,
        issue_date=today - datetime.timedelta(days=70),
        due_date=today - datetime.timedelta(days=40),
        amount="1200.00",
    )
    letter = letter_awaiting_approval(late)
    return task, letter


def test_finance_logs_a_call_and_approves_a_letter_from_the_dashboard(page, live_server, worklist):
    task, letter = worklist
    finance = make_user(access.FINANCE, "fanny")
    log_in(page, live_server, finance)
    page.goto(f"{live_server.url}/")
    dashboard_url = page.url  # home is the dashboard for finance staff
    item = page.locator(f"#wl-tasks-{task.pk}")
    item.wait_for()
    screenshot(page, "finance-dashboard")

    item.locator("summary").first.click()
    item.locator("input[name=outcome]").fill("Promised to pay on Friday")
    item.locator("textarea[name=note]").fill("Spoke to the accountant.")
    item.locator("button[type=submit]").first.click()
    page.wait_for_function(f"() => !document.querySelector('#wl-tasks-{task.pk} form')")
    task.refresh_from_db()
    assert task.status == Reminder.Status.DONE
    call = Activity.objects.get(customer=task.customer, kind=Activity.Kind.CALL)
    assert call.author == finance and call.outcome == "Promised to pay on Friday"
    assert page.url == dashboard_url  # never left the dashboard

    page.locator(
        f"#wl-letters-{letter.pk} button:has-text('Approve'), "
        f"#wl-letters-{letter.pk} button:has-text('Valider')"
    ).first.click()
    page.wait_for_function(
        f"() => !document.querySelector('#wl-letters-{letter.pk} form[action*=approve]')"
    )
    letter.refresh_from_db()
    assert letter.approved_by == finance and letter.approved_at is not None
    assert letter.pdf  # rendered by the (synchronous in tests) django-q2 task and stored
    assert page.url == dashboard_url


def test_manager_takes_and_downloads_a_monthly_snapshot(page, live_server):
    customer = CustomerFactory(customer_ref="411SNAP", name="Snapshot SARL")
    today = timezone.localdate()
    month_end = today.replace(day=1) - datetime.timedelta(days=1)
    make_invoice(
        customer,
        issue_date=month_end - datetime.timedelta(days=60),
        due_date=month_end - datetime.timedelta(days=30),
        amount="750.00",
    )
    manager = make_user(access.MANAGER, "marc")
    log_in(page, live_server, manager)
    page.goto(f"{live_server.url}/reports/")
    screenshot(page, "manager-reports-empty-ledger")
    page.fill("input[name=as_of]", month_end.isoformat())
    page.click("form[action*='snapshots'] button[type=submit]")
    csv_link = page.locator("a[href$='.csv']")
    csv_link.wait_for(timeout=30_000)  # the page polls until the snapshot is done
    screenshot(page, "manager-snapshot")
    with page.expect_download() as info:
        csv_link.click()
    # A French browser: the French spreadsheet's CSV (the command line keeps DESIGN.md's).
    lines = Path(info.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == (
        "Référence;Client;Non échu;1–30 jours;31–60 jours;61–90 jours;Plus de 90 jours;Total"
    )
    assert lines[1] == "411SNAP;Snapshot SARL;0,00;750,00;0,00;0,00;0,00;750,00"
    assert lines[-1].startswith("TOTAL;;")
