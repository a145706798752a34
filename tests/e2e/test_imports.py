"""Finance imports a spreadsheet in Chromium: the invoice-number column has a header
Relance does not know, so it is mapped by hand; the preview refuses a bad date on line 3
and nothing can be imported; the fixed file (same layout, mapping remembered) is
imported all at once; the invoices are on the customer's page."""

import datetime
import io

import openpyxl
import pytest
from django.utils import timezone

from core import access
from customers.models import Customer
from receivables.models import ColumnMapping, ImportRun, Invoice
from tests.e2e.conftest import screenshot
from tests.e2e.test_workplaces import log_in
from tests.factories import make_company_profile, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["customer_ref", "customer_name", "Pièce", "issue_date", "due_date", "amount"]


def workbook(third_issue_date: object) -> bytes:
    today = timezone.localdate()
    issued = today - datetime.timedelta(days=20)
    due = today + datetime.timedelta(days=10)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["411IMP", "Importée SARL", "FA-9001", issued, due, 1250.40])
    sheet.append(["411IMP", "Importée SARL", "FA-9002", third_issue_date, due, 310])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page, live_server, data: bytes) -> None:
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files(
        "input[name=import_files]",
        files=[{"name": "factures.xlsx", "mimeType": XLSX, "buffer": data}],
    )
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_finance_maps_previews_fixes_and_imports_a_spreadsheet(
    page, live_server, settings, tmp_path
):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    make_company_profile()
    log_in(page, live_server, make_user(access.FINANCE, "fanny"))

    # A bad date on line 3 (the header is line 1).
    upload(page, live_server, workbook("31/02/2026"))
    run = ImportRun.objects.get()
    assert page.url.endswith(f"/imports/runs/{run.pk}/")
    mapping = page.locator("#mapping-form")
    assert mapping.is_visible()
    # The unknown header is offered every expected column; choose the invoice number.
    select = mapping.get_by_label("pièce")
    assert select.input_value() == ""
    select.select_option("invoice_number")
    mapping.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")

    refused = page.locator("#refused-rows")
    refused.wait_for()
    assert refused.locator("tbody tr").count() == 1
    assert refused.locator("tbody td").first.inner_text() == "3"
    assert "issue_date" in refused.inner_text()
    assert page.get_by_role("button", name="Tout importer").is_disabled()
    screenshot(page, "imports")
    assert not Invoice.objects.exists()
    assert ColumnMapping.objects.get().mapping["pièce"] == "invoice_number"

    # The fixed file: same columns, so the mapping is remembered and the preview is clean.
    upload(page, live_server, workbook(timezone.localdate() - datetime.timedelta(days=5)))
    fixed = ImportRun.objects.exclude(pk=run.pk).get()
    assert page.url.endswith(f"/imports/runs/{fixed.pk}/")
    assert page.locator("#refused-rows").count() == 0
    counts = page.locator("#import-counts").inner_text()
    assert "2" in counts
    assert "FA-9001" in page.locator("#import-sample").inner_text()
    page.get_by_role("button", name="Tout importer").click()
    page.wait_for_load_state("networkidle")
    assert "Importé" in page.locator("#import-status").inner_text()
    fixed.refresh_from_db()
    assert fixed.status == ImportRun.Status.IMPORTED

    # The invoices are on the customer's page.
    customer = Customer.objects.get(customer_ref="411IMP")
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    body = page.locator("main").inner_text()
    assert "FA-9001" in body and "FA-9002" in body

    # And the list of imports shows both runs, the refused one and the imported one.
    page.goto(f"{live_server.url}/imports/")
    rows = page.locator("#import-runs tbody tr")
    assert rows.count() == 2
    assert "Importé" in rows.nth(0).inner_text()
    assert "Refusé" in rows.nth(1).inner_text()
