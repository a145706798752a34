"""Formal-notice letters: the rendered PDF says what the law and the ledger say.

Text is extracted with pypdf (which keeps the no-break spaces) and every figure is checked
against values computed by hand in the comments. WeasyPrint takes ~0.5 s a letter, so each
test renders one letter and checks many things in it. The helpers here are shared by the
other test_letters_* modules.
"""

import datetime
import io
import os
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from pypdf import PdfReader

from customers.models import Activity, Contact
from receivables.models import CompanyProfile
from reminders.letters import context as notice
from reminders.models import Reminder, ScenarioStep
from tests.factories import CustomerFactory, make_invoice, make_payment

D = datetime.date
NB, NNB = "\u00a0", "\u202f"

pytestmark = pytest.mark.django_db


# --- shared helpers ----------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """The text on one line with ordinary spaces (for phrases broken across lines)."""
    return " ".join(text.replace(NB, " ").replace(NNB, " ").split())


def setup_company(**overrides) -> CompanyProfile:
    company = CompanyProfile.get()
    values = {
        "name": "Relance Démo SAS",
        "legal_form": "SAS au capital de 50 000 €",
        "address_line1": "8 rue de la Charité",
        "postal_code": "69002",
        "city": "Lyon",
        "siren": "732829320",
        "vat_number": "FR44732829320",
        "rcs": "RCS Lyon 732 829 320",
        "email": "compta@relance.example",
        "phone": "04 72 00 00 00",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPPXXX",
        "bank_name": "Crédit Agricole",
        "signatory_name": "Fanny Comptable",
        "signatory_title": "Responsable recouvrement",
        "late_interest_rate": None,
    } | overrides
    for key, value in values.items():
        setattr(company, key, value)
    company.save()
    return company


def step(position: int) -> ScenarioStep:
    return ScenarioStep.objects.get(scenario__is_default=True, position=position)


def sent_reminder(customer, position: int, day: datetime.date, **kwargs) -> Reminder:
    """A reminder of the log, sent on ``day`` (as the engine records it)."""
    s = step(position)
    channel = "letter" if s.action == "letter" else "email"
    fields = {
        "customer": customer,
        "step": s,
        "channel": channel,
        "status": Reminder.Status.SENT,
        "run_date": day,
        "attempted_on": day,
        "sent_at": timezone.make_aware(datetime.datetime.combine(day, datetime.time(9))),
        "language": customer.language,
    } | kwargs
    return Reminder.objects.create(**fields)


def two_late_invoices(customer) -> None:
    """F-A 1000 due 10/06/2025 with 400 paid on 20/06/2025, F-B 2500 due 15/07/2025."""
    make_invoice(
        customer, number="F-A", issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000"
    )
    make_invoice(
        customer, number="F-B", issue_date=D(2025, 6, 15), due_date=D(2025, 7, 15), amount="2500"
    )
    make_payment(customer, date=D(2025, 6, 20), amount="400.00", reference="VIR 123")


# --- formatting --------------------------------------------------------------------------


def test_french_and_english_formats():
    # Amounts: core.money.format_money, tested in tests/core/test_money.py.
    assert notice.format_date(D(2026, 11, 22), "fr") == f"22{NB}novembre 2026"
    assert notice.format_date(D(2026, 12, 1), "fr") == f"1er{NB}décembre 2026"
    assert notice.format_date(D(2026, 11, 22), "en") == f"22{NB}November 2026"
    assert notice.format_rate(Decimal("13.15"), "fr") == f"13,15{NB}%"
    assert notice.format_rate(Decimal("13.15"), "en") == "13.15%"


# --- the French letter: two invoices, a partial payment, a history -----------------------------


def test_french_letter_with_several_invoices_partial_payment_and_history():
    setup_company()
    customer = CustomerFactory(
        name="Boulangerie Dupont",
        customer_ref="411DUPONT",
        siren="732829320",
        address_line1="3 place Bellecour",
        postal_code="69002",
        city="Lyon",
    )
    Contact.objects.create(customer=customer, name="Jeanne Martin", email="jm@example.com")
    two_late_invoices(customer)
    sent_reminder(customer, 1, D(2025, 6, 11))
    sent_reminder(customer, 2, D(2025, 6, 18))
    sent_reminder(customer, 3, D(2025, 7, 1), status=Reminder.Status.FAILED, sent_at=None)
    sent_reminder(customer, 3, D(2025, 7, 25))  # after the letter's date: not listed
    reminders_before = Reminder.objects.count()

    pdf = notice.render_letter_pdf(customer=customer, letter_date=D(2025, 7, 20))
    text = pdf_text(pdf)
    one_line = flat(text)

    assert pdf.startswith(b"%PDF-")
    # Letterhead, legal mentions, recipient, place and date, mode and subject.
    for expected in (
        "Relance Démo SAS",
        "SAS au capital de 50 000 €",
        "SIREN 732829320",
        "RCS Lyon 732 829 320",
        "TVA intracommunautaire FR44732829320",
        "Boulangerie Dupont",
        "À l’attention de Jeanne Martin",
        "3 place Bellecour",
        "69002 Lyon",
        "Lyon, le 20 juillet 2025",
        "LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION",
        "Objet : Mise en demeure de payer",
        "Votre compte client : 411DUPONT",
    ):
        assert expected in one_line, expected
    # The table: F-A 1000 - 400 paid = 600 left, 40 days late; F-B 2500, 5 days late.
    assert f"F-A 10/05/2025 10/06/2025 1{NNB}000,00{NB}€ 400,00{NB}€ 600,00{NB}€ 40" in text
    assert f"F-B 15/06/2025 15/07/2025 2{NNB}500,00{NB}€ 0,00{NB}€ 2{NNB}500,00{NB}€ 5" in text
    # Interest periods of F-A (see tests/receivables/test_interest.py):
    # 11/06-20/06 on 1000 at 13.15 % = 3.60; 21/06-30/06 on 600 at 13.15 % = 2.16;
    # 01/07-20/07 on 600 at 12.15 % = 3.99; exact sum 9.7589 -> 9.76.
    # Columns: period, days, base, ECB rate, rate applied (ECB + 10), interest.
    assert f"11/06/2025 – 20/06/2025 10 1{NNB}000,00{NB}€ 3,15{NB}% 13,15{NB}% 3,60{NB}€" in text
    assert f"21/06/2025 – 30/06/2025 10 600,00{NB}€ 3,15{NB}% 13,15{NB}% 2,16{NB}€" in text
    assert f"01/07/2025 – 20/07/2025 20 600,00{NB}€ 2,15{NB}% 12,15{NB}% 3,99{NB}€" in text
    # F-B: 16/07-20/07, 2500 x 12.15 % x 5 / 365 = 4.1609… -> 4.16.
    assert f"16/07/2025 – 20/07/2025 5 2{NNB}500,00{NB}€ 2,15{NB}% 12,15{NB}% 4,16{NB}€" in text
    assert "Pénalités de retard, facture F-A (arrondies au centime) 9,76 €" in one_line
    assert "Pénalités de retard, facture F-B (arrondies au centime) 4,16 €" in one_line
    assert one_line.count("Indemnité forfaitaire pour frais de recouvrement, facture") == 2
    # Totals: 600 + 2500 = 3100; 9.76 + 4.16 = 13.92; 2 x 40 = 80; 3193.92.
    assert f"Principal restant dû 3{NNB}100,00{NB}€" in text
    assert "Pénalités de retard au 20 juillet 2025 13,92 €" in one_line
    assert "Indemnités forfaitaires de recouvrement 80,00 €" in one_line
    assert f"Total à régler 3{NNB}193,92{NB}€" in text
    # The demand with the deadline (20 July + 8 days) and the next step.
    assert "de nous régler la somme de 3 193,92 € au plus tard le 28 juillet 2025" in one_line
    assert "requête en injonction de payer" in one_line
    assert "L441-10" in one_line and "D441-5" in one_line and "année de 365 jours" in one_line
    # History: the two sent emails, not the failed one nor the one after the date.
    assert "le 11/06/2025 par courriel — Première relance" in one_line
    assert "le 18/06/2025 par courriel — Deuxième relance" in one_line
    assert "01/07/2025 par" not in one_line and "25/07/2025" not in one_line
    # Bank details and payment reference.
    assert "IBAN FR7630006000011234567890189" in one_line
    assert "BIC AGRIFRPPXXX" in one_line
    assert "Référence à rappeler 411DUPONT F-A F-B" in one_line
    assert "Fanny Comptable" in one_line and "Responsable recouvrement" in one_line
    # A preview: nothing logged.
    assert Reminder.objects.count() == reminders_before
    assert not Activity.objects.exists()


def test_address_block_sits_in_the_dl_envelope_window():
    """The recipient's lines fall within the window of a French DL envelope: 100 x 45 mm,
    20 mm from the right edge, 45 mm from the top (A4 is 210 x 297 mm)."""
    setup_company()
    customer = CustomerFactory(
        name="Fenêtre Test SARL", address_line1="1 rue du Test", postal_code="75001", city="Paris"
    )
    make_invoice(customer, issue_date=D(2025, 5, 1), due_date=D(2025, 6, 1), amount="100")
    pdf = notice.render_letter_pdf(customer=customer, letter_date=D(2025, 7, 1))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    height = float(page.mediabox.height)
    assert round(float(page.mediabox.width) / 72 * 25.4) == 210 and round(height / 72 * 25.4) == 297
    found = {}

    def visitor(text, cm, tm, font_dict, font_size):
        # The text's origin in page space: the text matrix times the current matrix.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        x_mm, y_top_mm = x / 72 * 25.4, (height - y) / 72 * 25.4
        for wanted in ("Fenêtre Test SARL", "1 rue du Test", "75001 Paris"):
            if wanted in text:
                found[wanted] = (x_mm, y_top_mm)

    page.extract_text(visitor_text=visitor)
    assert set(found) == {"Fenêtre Test SARL", "1 rue du Test", "75001 Paris"}
    for x_mm, y_mm in found.values():
        assert 90 <= x_mm <= 150, x_mm  # window from 90 mm to 190 mm
        assert 45 <= y_mm <= 90, y_mm  # window from 45 mm to 90 mm


# --- the English letter, a contract rate --------------------------------------------------------


def test_english_letter_single_invoice():
    setup_company()
    customer = CustomerFactory(
        name="Nordic Supplies Ltd", language="en", country="GB", city="London", postal_code="EC1A"
    )
    make_invoice(
        customer, number="INV-9", issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000"
    )
    sent_reminder(customer, 1, D(2025, 6, 11))
    text = pdf_text(notice.render_letter_pdf(customer=customer, letter_date=D(2025, 7, 20)))
    one_line = flat(text)
    for expected in (
        "Lyon, 20 July 2025",
        "REGISTERED LETTER WITH ACKNOWLEDGEMENT OF RECEIPT",
        "Subject: Formal notice to pay",
        "Dear Sir or Madam,",
        "ROYAUME-UNI",
        # 1000 due 10 June, 20 days at 13.15 % + 20 days at 12.15 % = 13.86 (see interest tests)
        "INV-9 10 May 2025 10 Jun 2025 €1,000.00 €0.00 €1,000.00 40",
        "11 Jun 2025 – 30 Jun 2025 20 €1,000.00 3.15% 13.15% €7.21",
        "1 Jul 2025 – 20 Jul 2025 20 €1,000.00 2.15% 12.15% €6.66",
        "Annual rate (ECB + 10 pts)",
        "Late interest, invoice INV-9 (rounded to the cent) €13.86",
        "Fixed recovery indemnity, invoice INV-9 €40.00",
        "Total to pay €1,053.86",
        "to pay us the sum of €1,053.86 no later than 28 July 2025",
        "order for payment (injonction de payer)",
        "11 Jun 2025 by email — First reminder",  # the step in the customer's language
        "Yours faithfully,",
    ):
        assert expected in one_line, expected


def test_contract_rate_and_unallocated_credit_are_stated():
    setup_company(late_interest_rate=Decimal("12.00"))
    customer = CustomerFactory(name="Crédit SA")
    invoice = make_invoice(
        customer, number="F-C", issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000"
    )
    # A payment recorded on another invoice number… that does not exist: left unallocated.
    make_payment(customer, date=D(2025, 7, 1), amount="50.00", installments=[])
    context = notice.build_letter_context(customer=customer, letter_date=D(2025, 7, 20))
    # 1000 x 12 % x 40 / 365 = 13.1506… -> 13.15; 1000 + 13.15 + 40 - 50 = 1003.15
    assert context.interest == f"13,15{NB}€"
    assert context.credit == f"-50,00{NB}€"
    assert context.total == f"1{NNB}003,15{NB}€"
    assert context.rate_basis == f"taux contractuel de 12,00{NB}%"
    assert context.invoices[0].number == invoice.number
    assert context.invoices[0].periods[0].reference_rate == ""


def test_nothing_overdue_is_refused():
    setup_company()
    customer = CustomerFactory()
    make_invoice(customer, issue_date=D(2025, 5, 10), due_date=D(2025, 8, 10), amount="10")
    with pytest.raises(notice.NothingOverdueError):
        notice.build_letter_context(customer=customer, letter_date=D(2025, 7, 20))


# --- render_letter command ---------------------------------------------------------------------


def test_render_letter_command_writes_a_preview_and_logs_nothing(tmp_path):
    setup_company()
    customer = CustomerFactory(customer_ref="411CMD")
    make_invoice(customer, issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000")
    output = tmp_path / "letter.pdf"
    out = io.StringIO()
    call_command(
        "render_letter", "411CMD", "--output", str(output), "--date", "20/07/2025", stdout=out
    )
    assert "411CMD" in out.getvalue()
    text = flat(pdf_text(output.read_bytes()))
    assert "Lyon, le 20 juillet 2025" in text and "1 053,86 €" in text
    assert not Reminder.objects.exists() and not Activity.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["411NOBODY", "--output", "{tmp}/x.pdf"], "No customer with reference '411NOBODY'"),
        (["411CMD", "--output", "{tmp}/x.pdf", "--date", "2025-13-45"], "not a valid date"),
        (["411CMD", "--output", "{tmp}/missing/x.pdf"], "does not exist"),
        (["411CMD", "--output", "{tmp}"], "is a directory"),
        (["411CMD", "--output", "{tmp}/x.pdf", "--date", "2025-06-01"], "nothing overdue"),
    ],
)
def test_render_letter_command_errors(tmp_path, args, message):
    setup_company()
    customer = CustomerFactory(customer_ref="411CMD")
    make_invoice(customer, issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000")
    with pytest.raises(CommandError, match=message):
        call_command("render_letter", *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert not (tmp_path / "x.pdf").exists()


def test_render_letter_command_unwritable_output(tmp_path):
    setup_company()
    customer = CustomerFactory(customer_ref="411CMD")
    make_invoice(customer, issue_date=D(2025, 5, 10), due_date=D(2025, 6, 10), amount="1000")
    # A write that fails (the device is always full) is reported, even as root.
    with pytest.raises(CommandError, match="cannot write /dev/full"):
        call_command("render_letter", "411CMD", "--output", "/dev/full", "--date", "2025-07-20")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root ignores permissions
            with pytest.raises(CommandError, match="not writable"):
                call_command("render_letter", "411CMD", "--output", str(locked / "x.pdf"))
    finally:
        locked.chmod(0o700)
