"""One payment reference per customer and invoices: the reminder email, the formal
notice and the recovery file print the same one (receivables.references)."""

import datetime
import io
import re
import zipfile

import pytest
from django.core import mail

from reminders import services
from reminders.letters.context import build_letter_context, render_letter_pdf
from reminders.letters.recovery import build_recovery_file
from reminders.models import Reminder
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders.test_letters import flat, pdf_text, setup_company

D = datetime.date
pytestmark = pytest.mark.django_db

EXPECTED = "411REF F-9 F-10"


def test_email_letter_and_recovery_file_give_the_same_reference():
    setup_company()
    customer = make_reminder_customer("411REF")
    # Two invoices due the same day, listed in due-date order F-10 then F-9.
    for number in ("F-10", "F-9"):
        make_invoice(
            customer, number=number, issue_date=D(2026, 3, 2), due_date=D(2026, 4, 1), amount="500"
        )
    mail.outbox.clear()
    services.reminders_run(run_date=D(2026, 4, 2))
    (message,) = mail.outbox
    email = Reminder.objects.get(channel="email")
    assert sorted(email.items.values_list("installment__invoice__number", flat=True)) == [
        "F-10",
        "F-9",
    ]
    in_email = re.search(r"Référence à indiquer : (.+)", message.body).group(1).strip()

    letter_date = D(2026, 5, 4)
    in_letter = build_letter_context(customer=customer, letter_date=letter_date).payment_reference
    letter_text = flat(pdf_text(render_letter_pdf(customer=customer, letter_date=letter_date)))
    archive = zipfile.ZipFile(io.BytesIO(build_recovery_file(customer=customer, as_of=letter_date)))
    summary = flat(pdf_text(archive.read("00-recapitulatif.pdf")))

    assert in_email == in_letter == EXPECTED
    assert f"Référence à rappeler {EXPECTED}" in letter_text
    assert f"Référence de paiement à rappeler : {EXPECTED}" in summary
