"""Pay without typing, in what the customer receives: the reminder email (its text part
gives the creditor reference and the link to the customer's page; its HTML part shows
the EPC QR code as an inline image) and the formal notice (QR code, reference, link and
short code). The QR codes are decoded back with zbar, as a banking app would."""

import datetime
import re
import subprocess
from decimal import Decimal
from shutil import which

import pytest
from django.core import mail
from django.test import Client

from receivables.references import customer_creditor_reference
from reminders import services
from reminders.letters.context import build_letter_context, render_letter_pdf
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders.test_letters import flat, pdf_text, setup_company

D = datetime.date
IBAN = "FR7630006000011234567890189"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        which("zbarimg") is None or which("pdftoppm") is None,
        reason="zbar-tools and poppler-utils (bin/_bootstrap.sh installs them)",
    ),
]


def decode_qr(image: bytes, suffix: str = ".png") -> list[str]:
    """Every QR code zbar finds in ``image``, as text."""
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", "-Sbinary", "-"],
        input=image,
        capture_output=True,
        check=True,
    ).stdout.decode()
    # zbar ends each symbol with a newline; an EPC payload holds newlines of its own.
    return [out.rstrip("\n")]


def epc_fields(payload: str) -> dict[str, str]:
    lines = payload.split("\n")
    assert lines[:4] == ["BCD", "002", "1", "SCT"], payload
    return {
        "bic": lines[4],
        "name": lines[5],
        "iban": lines[6],
        "amount": lines[7],
        "reference": lines[9] if len(lines) > 9 else "",
    }


@pytest.fixture
def customer():
    setup_company()
    customer = make_reminder_customer("411QR", language="fr")
    make_invoice(
        customer, number="F-77", issue_date=D(2026, 3, 2), due_date=D(2026, 4, 1), amount="1234.50"
    )
    return customer


def test_the_reminder_email_carries_the_qr_code_the_reference_and_the_link(customer):
    mail.outbox.clear()
    services.reminders_run(run_date=D(2026, 4, 2))
    (message,) = mail.outbox
    reference = customer_creditor_reference(customer.pk)
    spaced = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))

    # The text part: the reference to quote and the link to the customer's page.
    assert spaced in message.body and IBAN in message.body
    link = re.search(r"^http://localhost:8000/p/([A-Z2-7]{26})/$", message.body, re.MULTILINE)
    assert link, message.body

    # The MIME structure mail clients expect for an inline image.
    mime = message.message()
    assert mime.get_content_type() == "multipart/alternative"
    plain, related = mime.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html" and 'src="cid:payqr@relance"' in (
        html.get_content()
    )
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == "<payqr@relance>"
    assert image.get_content_disposition() == "inline"

    (payload,) = decode_qr(image.get_content())
    fields = epc_fields(payload)
    assert fields["iban"] == IBAN
    assert fields["amount"] == "EUR1234.50"
    assert fields["reference"] == reference
    assert fields["name"] == "Relance Démo SAS"

    # The link opens the customer's page, which shows the same reference.
    page = Client().get(f"/p/{link.group(1)}/")
    assert page.status_code == 200 and spaced in page.content.decode()


def test_the_formal_notice_carries_the_qr_code_the_reference_the_link_and_its_code(
    customer, tmp_path
):
    letter_date = D(2026, 5, 4)
    context = build_letter_context(customer=customer, letter_date=letter_date)
    pdf = render_letter_pdf(customer=customer, letter_date=letter_date)
    text = flat(pdf_text(pdf))
    assert context.creditor_reference in text
    assert context.portal_code and context.portal_code in text
    assert "/p/" in text and context.portal_url in text.replace(" ", "")

    (tmp_path / "letter.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", str(tmp_path / "letter.pdf"), str(tmp_path / "page")],
        check=True,
    )
    found = []
    for page in sorted(tmp_path.glob("page*.png")):
        result = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sbinary", str(page)], capture_output=True
        )
        if result.returncode == 0:
            found.append(result.stdout.decode().rstrip("\n"))
    (payload,) = found
    fields = epc_fields(payload)
    assert fields["iban"] == IBAN
    assert fields["reference"] == customer_creditor_reference(customer.pk)
    # The amount the letter claims in all (principal, interest and indemnities).
    assert fields["amount"] == f"EUR{context.total_amount:.2f}"
    assert context.total_amount > Decimal("1234.50")


def test_without_an_iban_there_is_no_qr_code_and_a_revoked_link_is_not_sent(customer):
    from customers.portal_links import access_revoke
    from tests.factories import make_user

    setup_company(iban="")
    access_revoke(customer=customer, user=make_user("finance", "f_qr"))
    mail.outbox.clear()
    services.reminders_run(run_date=D(2026, 4, 2))
    (message,) = mail.outbox
    assert "/p/" not in message.body
    assert message.message().get_content_type() == "multipart/alternative"
    assert "cid:" not in message.alternatives[0].content
