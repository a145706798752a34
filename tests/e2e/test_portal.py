"""The customer's page, end to end: the reminder email arrives at a real SMTP server
(aiosmtpd on loopback), its link opens the page in Chromium, the customer records a
promise to pay, and finance staff find it on their dashboard."""

import datetime
import email
import re
from email import policy

import pytest

from core import access
from reminders import services
from tests.e2e.conftest import SCREENSHOTS, screenshot
from tests.e2e.test_workplaces import log_in
from tests.factories import make_company_profile, make_invoice, make_reminder_customer, make_user
from tests.reminders.test_delivery import smtp_server  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def received_link(smtp) -> str:
    (raw,) = smtp.messages
    message = email.message_from_bytes(raw, policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert message.get_body(preferencelist=("related",)) is not None  # the inline QR code
    return re.search(r"(http://\S+/p/[A-Z2-7]{26}/)", text).group(1)


def test_a_customer_opens_the_link_of_a_reminder_and_promises_to_pay(
    page,
    live_server,
    settings,
    smtp_server,  # noqa: F811  (the fixture imported above)
    clock,
):
    settings.PORTAL_BASE_URL = live_server.url
    make_company_profile(
        name="Relance Démo SAS", address_line1="8 rue de la Charité", postal_code="69002",
        city="Lyon",
    )  # fmt: skip
    customer = make_reminder_customer("411PORTAIL")
    customer.name = "Boulangerie Martin"
    customer.save()
    today = clock.today
    for number, amount, days in (("FA-2026-0412", "1840.00", 40), ("FA-2026-0467", "615.50", 18)):
        make_invoice(
            customer,
            number=number,
            issue_date=today - datetime.timedelta(days=days + 30),
            due_date=today - datetime.timedelta(days=days),
            amount=amount,
        )
    finance = make_user(access.FINANCE, "finance_portal")

    assert services.reminders_run(run_date=today).sent == 1
    link = received_link(smtp_server)
    assert link.startswith(live_server.url)

    # The customer, on a phone.
    page.set_viewport_size({"width": 430, "height": 1500})
    page.goto(link)
    assert page.locator("h1").inner_text().startswith("Votre compte chez nous")
    assert page.locator(".p-qr svg").count() >= 1
    if SCREENSHOTS.exists():
        screenshot(page, "customer-portal")
    page.click("#promise summary")
    promised = today + datetime.timedelta(days=12)
    page.fill("#id_promise-promised_date", promised.isoformat())
    page.fill("#id_promise-amount", "2455.50")
    page.click("#promise button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "promesse est enregistrée" in page.locator("#done").inner_text()

    # Finance staff find it on their dashboard, said by the customer.
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server, finance)
    page.goto(f"{live_server.url}/customers/dashboard/")
    row = page.locator("li", has_text="Boulangerie Martin").filter(has_text="Promesse")
    assert row.count() >= 1
    text = row.first.inner_text()
    assert "par le client, depuis sa page" in text
    assert promised.isoformat() in text
