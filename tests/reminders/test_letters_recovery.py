"""The recovery file: one ZIP per customer with the summary PDF, the CSVs, the stored
formal notice (byte for byte, with its tracking number) and the invoices' PDFs."""

import csv
import datetime
import hashlib
import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from reminders.letters import workflow as letters
from reminders.models import Reminder
from tests.factories import make_invoice, make_payment
from tests.reminders.test_letters import flat, pdf_text, sent_reminder, setup_company
from tests.reminders.test_letters_workflow import letter_awaiting_approval

D = datetime.date
pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    setup_company()


@pytest.fixture
def file_customer(customer, finance_user):
    """Two invoices (one partly paid, one paid), a credit note, two emails sent, a
    formal notice approved, stored and posted."""
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    late = make_invoice(
        customer,
        number="F-100",
        issue_date=today - 90 * day,
        due_date=today - 60 * day,
        amount="1500.00",
    )
    late.pdf.save("F-100.pdf", ContentFile(b"%PDF-1.4 invoice F-100"))
    paid = make_invoice(
        customer,
        number="F-101",
        issue_date=today - 80 * day,
        due_date=today - 50 * day,
        amount="300.00",
    )
    make_payment(customer, date=today - 70 * day, amount="300.00", reference="VIR-A")  # F-100
    make_payment(customer, date=today - 20 * day, amount="300.00", reference="VIR-B", invoice=paid)
    sent_reminder(customer, 1, today - 59 * day, subject="Relance facture F-100")
    sent_reminder(customer, 2, today - 52 * day)
    reminder = letter_awaiting_approval(customer)
    letters.letter_approve(user=finance_user, reminder_id=reminder.pk)
    letters.letter_store_pdf(reminder_id=reminder.pk)
    letters.letter_record_posting(
        user=finance_user, reminder_id=reminder.pk, tracking_number="1A 123 456 7890 1"
    )
    customer.letter = Reminder.objects.get(pk=reminder.pk)
    return customer


def test_recovery_zip_holds_everything_a_court_needs(client, manager_user, file_customer):
    client.force_login(manager_user)
    response = client.get(reverse("letters:recovery_file", args=[file_customer.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    today = timezone.localdate()
    assert (
        f'filename="dossier-recouvrement-{file_customer.customer_ref.lower()}-{today}.zip"'
        in response["Content-Disposition"]
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    letter = file_customer.letter
    letter_name = f"mises-en-demeure/{letter.run_date}-MED-{letter.pk}-1a-123-456-7890-1.pdf"
    assert sorted(archive.namelist()) == sorted(
        [
            "00-recapitulatif.pdf",
            "01-factures.csv",
            "02-releve-de-compte.csv",
            "03-relances.csv",
            "factures/f-100.pdf",
            letter_name,
        ]
    )
    # The formal notice, byte for byte.
    with letter.pdf.open("rb") as f:
        stored = f.read()
    assert archive.read(letter_name) == stored
    digest = hashlib.sha256(stored).hexdigest()
    assert archive.read("factures/f-100.pdf") == b"%PDF-1.4 invoice F-100"

    invoices = list(csv.DictReader(io.StringIO(archive.read("01-factures.csv").decode())))
    assert [
        (r["invoice_number"], r["amount"], r["paid"], r["left"], r["status"]) for r in invoices
    ] == [
        ("F-100", "1500.00", "300.00", "1200.00", "échue"),
        ("F-101", "300.00", "300.00", "0.00", "payée"),
    ]
    assert invoices[0]["days_late"] == "60" and invoices[0]["recovery_indemnity"] == "40.00"
    assert invoices[1]["late_interest"] == "0.00"

    statement = list(csv.DictReader(io.StringIO(archive.read("02-releve-de-compte.csv").decode())))
    assert [(r["label"], r["debit"], r["credit"], r["balance"]) for r in statement] == [
        ("Facture F-100", "1500.00", "0.00", "1500.00"),
        ("Facture F-101", "300.00", "0.00", "1800.00"),
        ("Règlement (virement) VIR-A", "0.00", "300.00", "1500.00"),
        ("Règlement (virement) VIR-B", "0.00", "300.00", "1200.00"),
    ]

    log = list(csv.DictReader(io.StringIO(archive.read("03-relances.csv").decode())))
    assert [(r["channel"], r["step"], r["status"]) for r in log] == [
        ("courriel", "Première relance", "envoyée"),
        ("courriel", "Deuxième relance", "envoyée"),
        ("courrier", "Mise en demeure", "envoyée"),
    ]
    assert log[0]["subject"] == "Relance facture F-100"
    assert log[2]["tracking_number"] == "1A 123 456 7890 1"
    assert log[2]["pdf"] == letter_name and log[2]["pdf_sha256"] == digest
    assert log[2]["approved_by"] == "finance_t" and log[2]["invoices"] == "F-100"

    summary = flat(pdf_text(archive.read("00-recapitulatif.pdf")))
    for expected in (
        "Dossier de recouvrement",
        "CRÉANCIER",
        "Relance Démo SAS",
        "DÉBITEUR",
        file_customer.name,
        "Créance au",
        "F-100",
        "1 200,00 €",
        "Relevé de compte",
        "Journal des relances",
        "Première relance",
        "1A 123 456 7890 1",
        letter_name,
    ):
        assert expected in summary, expected
    assert digest in summary.replace(" ", "")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("sales_user", 403),  # even their own customer: handing to recovery is finance's call
        ("other_sales_user", 403),
        ("manager_user", 200),
        ("finance_user", 200),
    ],
)
def test_recovery_file_permissions(client, request, customer, monkeypatch, who, expected):
    monkeypatch.setattr(
        "reminders.letters.recovery.render_pdf", lambda html, **kw: b"%PDF-1.7 fake"
    )
    make_invoice(customer, issue_date=D(2025, 1, 1), due_date=D(2025, 2, 1), amount="10")
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("letters:recovery_file", args=[customer.pk]))
    assert response.status_code == expected


def test_recovery_file_of_an_unknown_customer_is_404(client, finance_user):
    client.force_login(finance_user)
    assert client.get(reverse("letters:recovery_file", args=[999999])).status_code == 404


def test_an_invoice_older_than_the_first_ecb_rate_is_explained_not_a_500(
    client, customer, finance_user
):
    """The first ECB rate recorded is for 2022: the interest on an invoice due in 2021
    cannot be computed. The recovery file says so as the letter page does, on the
    customer's page, instead of answering 500."""
    make_invoice(
        customer, number="F-OLD", issue_date=D(2021, 3, 1), due_date=D(2021, 4, 1), amount="80.00"
    )
    reminder = letter_awaiting_approval(customer)
    client.force_login(finance_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    letter_page = client.get(reverse("letters:detail", args=[reminder.pk]))
    explained = "No ECB reference rate in force on 2021-01-01"
    assert explained in letter_page.content.decode()
    response = client.get(reverse("letters:recovery_file", args=[customer.pk]), follow=True)
    assert response.redirect_chain == [(customer.get_absolute_url(), 302)]
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith(explained) for m in shown), shown
    # The same message in French for a French user.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    response = client.get(reverse("letters:recovery_file", args=[customer.pk]), follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any("2021-01-01" in m and "BCE" in m for m in shown), shown
