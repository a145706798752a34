"""Finance confirms a proposed bank match in Chromium: a camt.053 statement (built here)
brings a credit that names two open invoices, so it waits in the matching queue; from
/imports/bank/ the proposed invoice is confirmed, the row becomes matched in place, and
the customer page shows the invoice paid by that transfer."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core import access
from receivables.models import BankTransaction
from tests.e2e.conftest import screenshot
from tests.e2e.test_workplaces import log_in
from tests.factories import CustomerFactory, make_company_profile, make_invoice, make_user
from tests.receivables.import_helpers import run_command
from tests.receivables.test_import_bank import camt, entry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_finance_confirms_a_proposed_match_from_the_queue(page, live_server, tmp_path):
    make_company_profile()
    today = timezone.localdate()
    issued = today - datetime.timedelta(days=40)
    acme = CustomerFactory(customer_ref="411ACME", name="Acme SARL")
    beta = CustomerFactory(customer_ref="411BETA", name="Beta SA")
    big = make_invoice(acme, number="F-2026-0041", issue_date=issued, amount="500.00")
    small = make_invoice(acme, number="F-2026-0042", issue_date=issued, amount="80.00")
    make_invoice(beta, number="F-2026-0050", issue_date=issued, amount="250.00")
    day = (today - datetime.timedelta(days=1)).isoformat()
    statement = camt(
        tmp_path,
        # Names one open invoice, for what is open: allocated at once.
        entry("250.00", ref="B-OK-1", ustrd="F-2026-0050", name="Beta SA", day=day),
        # Names two: waits in the queue, both proposed.
        entry(
            "80.00",
            ref="B-AMB-1",
            ustrd="Factures F-2026-0041 F-2026-0042",
            name="ACME SARL",
            iban="FR7611112222333344445555666",
            day=day,
        ),
    )
    out, err = run_command("import_bank_statement", statement)
    assert err == "" and "lines waiting in the matching queue: 1" in out
    line = BankTransaction.objects.get(bank_reference="B-AMB-1")
    assert line.status == BankTransaction.Status.UNMATCHED

    log_in(page, live_server, make_user(access.FINANCE, "fanny"))
    page.goto(f"{live_server.url}/customers/dashboard/")
    page.click("a[href='/imports/bank/']")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/imports/bank/")
    assert "(1)" in page.title()
    row = page.locator(f"#bank-line-{line.pk}")
    text = row.inner_text()
    assert "ACME SARL" in text and "FR7611112222333344445555666" in text
    assert "F-2026-0041" in text and "F-2026-0042" in text
    assert row.locator("table.bank-proposals tbody tr").count() == 2
    screenshot(page, "bank-queue")

    # Confirm the one that is exactly the amount: the row becomes its outcome, in place.
    proposal = row.locator("tbody tr", has_text="F-2026-0042")
    proposal.locator("button[type=submit]").click()
    page.locator(f"#bank-line-{line.pk}[data-status=matched]").wait_for()
    assert page.locator("#bank-queue-count").inner_text() == "0"
    assert "F-2026-0042" in page.locator(f"#bank-line-{line.pk}").inner_text()
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.MATCHED and line.customer == acme
    assert sum(i.paid_amount for i in small.installments.all()) == Decimal("80.00")
    assert sum(i.paid_amount for i in big.installments.all()) == 0

    # The customer page: the invoice is no longer open, the transfer paid it.
    page.click(f"#bank-line-{line.pk} a[href='{acme.get_absolute_url()}']")
    page.wait_for_load_state("networkidle")
    open_items = page.locator("section[aria-labelledby=installments-title]").inner_text()
    assert "F-2026-0041" in open_items and "F-2026-0042" not in open_items
    payments = page.locator("section[aria-labelledby=payments-title]").inner_text()
    assert "B-AMB-1" in payments and "F-2026-0042" in payments
