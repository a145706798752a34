"""What a customer says from their page, and its effect on the reminder scenario: a
promise suspends the next email (and is bounded by the company's limit), a dispute stops
it, "I have paid" holds it and then expires; each lands on the finance worklist and the
customer's timeline as said by the customer; files are checked, stored privately and
served to finance staff only."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from customers.models import Activity
from customers.portal_links import token_for
from receivables.models import CustomerRequest, Dispute, PaymentClaim, PromiseToPay
from reminders import services
from tests.factories import make_invoice, make_reminder_customer, make_user
from workplaces.selectors.dashboard import follow_ups

D = datetime.date
pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF"


@pytest.fixture
def late(company_profile, settings, tmp_path):
    """Two customers with one invoice each, overdue since 1 November (today is 18
    November): the run would send each an email today."""
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    made = []
    for ref in ("411A", "411B"):
        customer = make_reminder_customer(ref)
        make_invoice(
            customer, number=f"F-{ref}", issue_date=D(2026, 10, 1), due_date=D(2026, 11, 1),
            amount="600.00",
        )  # fmt: skip
        made.append(customer)
    return made


def post(customer, action, data, **files):
    client = Client(REMOTE_ADDR="198.51.100.4")
    payload = {f"{action}-{k}": v for k, v in data.items()}
    payload |= {f"{action}-{k}": v for k, v in files.items()}
    return client.post(f"/p/{token_for(customer.pk)}/{action.replace('_', '-')}/", payload)


def emailed(run_date):
    mail.outbox.clear()
    services.reminders_run(run_date=run_date)
    return {m.to[0] for m in mail.outbox}


def on_worklist(customer, finance):
    return [a for a in follow_ups(user=finance, today=D(2026, 11, 18)) if a.customer == customer]


def test_a_promise_from_the_page_suspends_the_next_email_and_lands_on_the_worklist(late, clock):
    a, _b = late
    response = post(a, "promise", {"promised_date": "2026-11-30", "amount": "600.00"})
    assert response.status_code == 302 and response["Location"].endswith("?done=promise#done")
    promise = PromiseToPay.objects.get()
    assert promise.by_customer and promise.recorded_by is None
    assert promise.customer == a and promise.amount == Decimal("600.00")
    assert emailed(clock.today) == {"411b@client.example"}  # A waits, B is reminded
    finance = make_user("finance", "f_wl")
    (item,) = on_worklist(a, finance)
    assert item.by_customer and item.kind == Activity.Kind.PROMISE
    # Broken the same way as finance's: after the date and the grace, A is reminded.
    clock.move_to("2026-12-07T07:00")
    assert "411a@client.example" in emailed(clock.today)
    promise.refresh_from_db()
    assert promise.status == PromiseToPay.Status.BROKEN


def test_a_promise_beyond_the_companys_limit_is_refused_and_changes_nothing(late, clock):
    a, _b = late
    from receivables.models import CompanyProfile

    profile = CompanyProfile.get()
    profile.portal_promise_max_days = 10
    profile.save()
    response = post(a, "promise", {"promised_date": "2026-11-29", "amount": "600"})
    assert response.status_code == 400
    assert "2026-11-28" in response.content.decode()
    assert not PromiseToPay.objects.exists() and not Activity.objects.exists()


def test_a_dispute_from_the_page_stops_the_invoices_reminders(late, clock, client):
    a, _b = late
    invoice = a.invoices.get()
    response = post(
        a,
        "dispute",
        {"invoice": invoice.pk, "reason": "quality", "description": "Broken on arrival"},
        attachment=SimpleUploadedFile("../../etc/passwd.pdf", PDF, "application/pdf"),
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert dispute.by_customer and dispute.opened_by is None and dispute.is_open
    assert dispute.attachment.name.startswith("portal/") and ".." not in dispute.attachment.name
    assert str(dispute.attachment.storage.location) in dispute.attachment.path
    assert "411a@client.example" not in emailed(clock.today)
    # The file: finance staff download it; a manager, the owning rep or anyone else not.
    url = f"/customers/{a.pk}/portal/files/dispute/{dispute.pk}/"
    client.force_login(make_user("finance", "f_file"))
    got = client.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF
    client.force_login(make_user("manager", "m_file"))
    assert client.get(url).status_code == 403


def test_i_have_paid_holds_the_reminders_then_expires(late, clock):
    a, _b = late
    response = post(
        a,
        "paid",
        {"paid_on": "17/11/2026", "amount": "600"},
        proof=SimpleUploadedFile("virement.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100),
    )
    assert response.status_code == 302
    claim = PaymentClaim.objects.get()
    assert claim.hold_until == D(2026, 11, 28)  # the company's 10 days
    assert list(claim.invoices.all()) == list(a.invoices.all())  # none named: all open
    assert claim.proof.name.endswith(".png")
    assert "411a@client.example" not in emailed(clock.today)
    clock.move_to("2026-11-27T07:00")
    assert "411a@client.example" not in emailed(clock.today)
    clock.move_to("2026-11-30T07:00")  # the hold is over, the bank showed nothing
    assert "411a@client.example" in emailed(clock.today)
    (note,) = Activity.objects.filter(customer=a, kind=Activity.Kind.PAYMENT)
    assert note.by_customer and "600" in note.summary


def test_requests_land_on_the_worklist_and_the_customer_page(late, client):
    a, _b = late
    finance = make_user("finance", "f_req")
    assert post(a, "copy", {"invoice": a.invoices.get().pk}).status_code == 302
    (item,) = on_worklist(a, finance)
    assert item.by_customer and "F-411A" in item.summary
    assert (
        post(a, "send_to", {"email": "ap@client.example", "text": "Service comptable"}).status_code
        == 302
    )
    kinds = sorted(CustomerRequest.objects.values_list("kind", "email"))
    assert kinds == [("copy", ""), ("send_to", "ap@client.example")]
    # The worklist keeps the customer's latest next action; the page lists every request.
    (item,) = on_worklist(a, finance)
    assert "ap@client.example" in item.summary
    client.force_login(finance)
    body = client.get(f"/customers/{a.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "Send me a copy of the invoice F-411A" in body and "ap@client.example" in body


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        # The page speaks the customer's language (French here).
        ("proof.pdf", b"MZ\x90\x00 an executable", "Seul un fichier PDF, PNG ou JPEG"),
        ("proof.pdf", b"", "Le fichier soumis est vide"),
        ("proof.pdf", b"%PDF-" + b"0" * 2048, "trop volumineux"),
    ],
)
def test_a_file_of_the_wrong_type_or_size_is_refused_and_changes_nothing(
    late, settings, name, content, message
):
    settings.PORTAL_UPLOAD_MAX_BYTES = 1024
    a, _b = late
    response = post(
        a,
        "paid",
        {"paid_on": "2026-11-17", "amount": "600"},
        proof=SimpleUploadedFile(name, content),
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PaymentClaim.objects.exists() and not Activity.objects.exists()
    assert not (settings.PRIVATE_STORAGE_ROOT / "portal").exists()


def test_another_customers_invoice_is_out_of_reach(late):
    a, b = late
    other_invoice = b.invoices.get()
    response = post(a, "dispute", {"invoice": other_invoice.pk, "reason": "price"})
    assert response.status_code == 400 and not Dispute.objects.exists()
    response = post(a, "copy", {"invoice": other_invoice.pk})
    assert response.status_code == 400 and not CustomerRequest.objects.exists()
    other_invoice.pdf.save("b.pdf", SimpleUploadedFile("b.pdf", PDF))
    pdf_url = f"/p/{token_for(a.pk)}/invoices/{other_invoice.pk}/invoice.pdf"
    assert Client().get(pdf_url).status_code == 404
    own = f"/p/{token_for(b.pk)}/invoices/{other_invoice.pk}/invoice.pdf"
    assert Client().get(own).status_code == 200


def test_a_payment_claimed_in_the_future_or_long_ago_is_refused(late):
    a, _b = late
    for day in ("2026-11-19", "2025-01-01"):
        response = post(a, "paid", {"paid_on": day, "amount": "600"})
        assert response.status_code == 400
    assert not PaymentClaim.objects.exists()
