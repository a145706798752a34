"""Each role logs in and does the real things, in Chromium."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from customers.models import Customer
from tests.e2e.conftest import login, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def demo(live_server):
    call_command("seed_demo", verbosity=0)
    call_command("run_reminders", "--date", timezone.localdate().isoformat(), verbosity=0)


def test_sales_rep_sees_only_their_customers_and_cannot_reach_another_reps(page, live_server, demo):
    login(page, live_server, "sales")
    page.goto(f"{live_server.url}/customers/")
    own = Customer.objects.filter(sales_rep__username="sales")
    other = Customer.objects.exclude(sales_rep__username="sales").first()
    text = page.inner_text("main")
    assert all(c.name in text for c in own[:5])
    assert other.name not in text
    screenshot(page, "sales-customers")
    response = page.goto(f"{live_server.url}/customers/{other.pk}/")
    assert response.status == 404


def test_customer_list_live_search(page, live_server, demo):
    login(page, live_server, "finance")
    page.goto(f"{live_server.url}/")
    assert page.locator(".worklist-item").count() > 0  # the demo's worklist
    screenshot(page, "dashboard")
    busiest = Customer.objects.filter(invoices__isnull=False).order_by("pk").first()
    page.goto(f"{live_server.url}/customers/{busiest.pk}/")
    assert busiest.name in page.inner_text("main")
    screenshot(page, "customer-page")
    page.goto(f"{live_server.url}/customers/")
    target = Customer.objects.order_by("name").last()
    page.locator("input[name=q]").press_sequentially(target.name[:12], delay=40)
    total = Customer.objects.count()
    page.wait_for_function(
        "([name, total]) => document.querySelectorAll('tbody tr').length < total && "
        "document.querySelector('tbody').innerText.includes(name)",
        arg=[target.name, total],
    )
    assert 1 <= page.locator("tbody tr").count() < total
    assert "q=" in page.url  # the search is kept in the address bar
    screenshot(page, "finance-customers")


def test_aged_balance_page_and_download(page, live_server, demo):
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/reports/")
    assert page.locator("svg").count() >= 1  # the charts, drawn on the server
    screenshot(page, "manager-reports")
    page.goto(f"{live_server.url}/receivables/aged-balance/")
    assert "TOTAL" in page.inner_text("main")
    screenshot(page, "aged-balance")
    with page.expect_download() as info:
        page.click("a[href*='aged-balance.csv']")
    content = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert content.startswith("Référence;Client;Non échu")  # a French browser
