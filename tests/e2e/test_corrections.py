"""Finance corrects a mistyped invoice in Chromium: 999 999 999 999,99 € is refused
outright (over the company's ceiling); 9 999 999,99 € gets through, is entered from the
customer page and cancelled with a reason from its own page; the finance dashboard's
totals and the manager's key figures return to what they were."""

import datetime

import pytest
from django.utils import timezone

from core import access
from customers.models import Activity
from receivables.models import Invoice
from tests.e2e.conftest import screenshot
from tests.e2e.test_workplaces import log_in
from tests.factories import CustomerFactory, make_company_profile, make_invoice, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def dashboard_totals(page, live_server) -> str:
    page.goto(f"{live_server.url}/customers/dashboard/")
    totals = page.locator("#totals.kpi-strip:not(.kpi-pending)")
    totals.wait_for()
    return totals.inner_text()


def manager_figures(page, live_server) -> str:
    page.goto(f"{live_server.url}/reports/")
    return page.locator("section[aria-labelledby=kpi-title]").inner_text()


def test_finance_cancels_a_mistyped_invoice_and_the_totals_come_back(page, browser, live_server):
    make_company_profile()
    today = timezone.localdate()
    customer = CustomerFactory(customer_ref="411TYPO", name="Typo Industries")
    make_invoice(
        customer,
        issue_date=today - datetime.timedelta(days=50),
        due_date=today - datetime.timedelta(days=20),
        amount="1200.00",
    )
    finance = make_user(access.FINANCE, "fanny")
    manager = make_user(access.MANAGER, "marc")
    manager_context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
    manager_page = manager_context.new_page()
    log_in(manager_page, live_server, manager)
    log_in(page, live_server, finance)
    before = dashboard_totals(page, live_server)
    manager_before = manager_figures(manager_page, live_server)

    # An absurd amount is refused outright (over the company's ceiling), nothing is saved.
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    page.click(f"a[href='/receivables/customers/{customer.pk}/invoices/new/']")
    page.fill("input[name=number]", "F-2026-TYPO")
    page.fill("input[name=amount]", "999999999999.99")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert not Invoice.objects.filter(number="F-2026-TYPO").exists()
    assert dashboard_totals(page, live_server) == before
    # The slip that gets through: an amount keyed with a few digits too many.
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    page.click(f"a[href='/receivables/customers/{customer.pk}/invoices/new/']")
    page.fill("input[name=number]", "F-2026-TYPO")
    page.fill("input[name=amount]", "9999999.99")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state("networkidle")
    invoice = Invoice.objects.get(number="F-2026-TYPO")
    assert page.url.endswith(invoice.get_absolute_url())
    assert dashboard_totals(page, live_server) != before
    assert manager_figures(manager_page, live_server) != manager_before

    # The correction: cancelled from the invoice's page, with a reason.
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    page.click(f"a[href='/receivables/invoices/{invoice.pk}/cancel/']")
    page.fill("textarea[name=reason]", "   ")  # no reason: refused, nothing changes
    page.click("form.stacked button[type=submit]")
    page.locator(".field-error").first.wait_for()
    invoice.refresh_from_db()
    assert not invoice.is_cancelled
    page.fill("textarea[name=reason]", "Montant mal saisi")
    screenshot(page, "finance-cancel-invoice")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state("networkidle")
    invoice.refresh_from_db()
    assert invoice.is_cancelled

    assert dashboard_totals(page, live_server) == before
    assert manager_figures(manager_page, live_server) == manager_before
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    timeline = page.locator("#timeline")
    timeline.get_by_text("Montant mal saisi").wait_for()
    assert Activity.objects.get(kind=Activity.Kind.CORRECTION).author == finance
    manager_context.close()
