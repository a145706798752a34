"""The approval workflow of formal notices: who may do what, the state transitions, the
timeline, and a stored PDF that is rendered once and never changes."""

import datetime
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity
from reminders.letters import context as notice
from reminders.letters import workflow as letters
from reminders.letters.tasks import render_approved_letter
from reminders.models import Reminder, ReminderItem
from tests.factories import CustomerFactory, make_invoice, make_payment
from tests.reminders.test_letters import flat, pdf_text, setup_company, step

D = datetime.date
pytestmark = [pytest.mark.django_db, pytest.mark.calendar]  # data built from today


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    setup_company()


def letter_awaiting_approval(customer, run_date: datetime.date | None = None) -> Reminder:
    """What the engine creates on the letter step: a reminder awaiting approval, with
    one item per overdue installment."""
    run_date = run_date or timezone.localdate()
    letter_step = step(4)
    reminder = Reminder.objects.create(
        customer=customer,
        step=letter_step,
        channel=Reminder.Channel.LETTER,
        status=Reminder.Status.AWAITING_APPROVAL,
        run_date=run_date,
        language=customer.language,
        total_amount=sum(
            (i.amount_left for inv in customer.invoices.all() for i in inv.installments.all()),
            start=0,
        ),
    )
    for invoice in customer.invoices.all():
        for inst in invoice.installments.filter(paid_amount__lt=F("amount")):
            ReminderItem.objects.create(
                reminder=reminder,
                installment=inst,
                step=letter_step,
                amount_left=inst.amount_left,
                days_late=(run_date - inst.due_date).days,
            )
    return reminder


@pytest.fixture
def late_customer(customer):
    """The sales rep's customer, with an invoice 40 days late today."""
    today = timezone.localdate()
    make_invoice(
        customer,
        number="F-LATE",
        issue_date=today - datetime.timedelta(days=70),
        due_date=today - datetime.timedelta(days=40),
        amount="1200.00",
    )
    return customer


def test_finance_previews_approves_and_posts_and_the_pdf_never_changes(
    client, finance_user, late_customer, django_capture_on_commit_callbacks
):
    reminder = letter_awaiting_approval(late_customer)
    client.force_login(finance_user)

    page = client.get(reverse("letters:list"))
    assert page.status_code == 200
    assert late_customer.name in page.content.decode()

    detail = client.get(reverse("letters:detail", args=[reminder.pk]))
    assert detail.status_code == 200
    assert f'src="{reverse("letters:preview", args=[reminder.pk])}"' in detail.content.decode()

    preview = client.get(reverse("letters:preview", args=[reminder.pk]))
    assert preview.status_code == 200
    assert preview["Content-Type"] == "application/pdf"
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    # Chrome's PDF viewer needs an <embed>: no object-src 'none' on the PDF itself.
    assert preview["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert preview["Content-Disposition"].startswith("inline")
    assert "Mise en demeure de payer" in flat(pdf_text(preview.content))
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.AWAITING_APPROVAL and not reminder.pdf

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("letters:approve", args=[reminder.pk]))
    assert response.status_code == 302
    assert len(callbacks) == 1  # the rendering task, queued after commit
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.SENDING
    assert reminder.approved_by == finance_user and reminder.actor == finance_user
    assert reminder.approved_at is not None
    assert reminder.pdf.name.startswith("reminders/letters/")
    with reminder.pdf.open("rb") as f:
        stored = f.read()
    digest = hashlib.sha256(stored).hexdigest()
    text = flat(pdf_text(stored))
    assert f"MED-{reminder.pk}" in text
    assert "1 200,00 €" in text
    timeline = list(Activity.objects.filter(customer=late_customer).order_by("pk"))
    assert [a.kind for a in timeline] == ["letter", "letter"]
    assert timeline[0].author == finance_user  # summary wording follows the UI language
    assert timeline[1].body == f"SHA-256: {digest}"

    # Rendering again is refused: same file, same bytes.
    name = reminder.pdf.name
    assert render_approved_letter(reminder.pk) is None
    assert letters.letter_store_pdf(reminder_id=reminder.pk) is None
    reminder.refresh_from_db()
    assert reminder.pdf.name == name
    with reminder.pdf.open("rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest
    # The preview now shows the stored file itself.
    preview = client.get(reverse("letters:preview", args=[reminder.pk]))
    assert hashlib.sha256(preview.content).hexdigest() == digest

    # Approving twice does nothing.
    client.post(reverse("letters:approve", args=[reminder.pk]))
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.SENDING

    # Posting: the tracking number makes the letter sent as of the posting day.
    response = client.post(
        reverse("letters:post", args=[reminder.pk]), {"tracking_number": "1a 001 234 5678 9"}
    )
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.SENT
    assert reminder.tracking_number == "1A 001 234 5678 9"
    assert reminder.attempted_on == timezone.localdate() and reminder.sent_at is not None
    assert Activity.objects.filter(summary__contains="1A 001 234 5678 9").exists()

    download = client.get(reverse("letters:pdf", args=[reminder.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert hashlib.sha256(download.content).hexdigest() == digest
    # A posted letter can no longer be cancelled, and its PDF still never changes.
    with pytest.raises(ValidationError):
        letters.letter_cancel(user=finance_user, reminder_id=reminder.pk)
    assert render_approved_letter(reminder.pk) is None
    reminder.refresh_from_db()
    assert reminder.pdf.name == name


@pytest.fixture
def fake_render(monkeypatch):
    """The permission matrix does not need real PDFs."""
    monkeypatch.setattr("reminders.letters.context.render_pdf", lambda html, **kw: b"%PDF-1.7 fake")


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("list", "get"),
        ("detail", "get"),
        ("preview", "get"),
        ("pdf", "get"),
        ("approve", "post"),
        ("cancel", "post"),
        ("post", "post"),
    ],
)
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("sales_user", 403),  # the customer's own sales rep
        ("other_sales_user", 403),
        ("manager_user", "read-only"),  # reads every letter, acts on none
        ("finance_user", None),
    ],
)
def test_permission_matrix(
    client, request, late_customer, fake_render, name, method, who, expected
):
    reminder = letter_awaiting_approval(late_customer)
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    url = (
        reverse(f"letters:{name}")
        if name == "list"
        else reverse(f"letters:{name}", args=[reminder.pk])
    )
    data = {"tracking_number": "1A00123456789"} if name == "post" else {}
    response = getattr(client, method)(url, data)
    if expected == "read-only":
        expected = 403 if method == "post" else None
    if expected is None:
        # Finance: pages answer, actions redirect; the stored PDF does not exist yet.
        assert response.status_code in (200, 302, 404 if name == "pdf" else 200)
    else:
        assert response.status_code == expected
        if expected == 302:
            assert "/login/" in response["Location"]
        reminder.refresh_from_db()
        assert reminder.status == Reminder.Status.AWAITING_APPROVAL
        assert reminder.approved_by is None and not Activity.objects.exists()


def test_services_refuse_sales_reps_and_managers(late_customer, sales_user, manager_user):
    reminder = letter_awaiting_approval(late_customer)
    for user in (sales_user, manager_user):
        for service in (letters.letter_approve, letters.letter_cancel):
            with pytest.raises(PermissionDenied):
                service(user=user, reminder_id=reminder.pk)
        with pytest.raises(PermissionDenied):
            letters.letter_record_posting(
                user=user, reminder_id=reminder.pk, tracking_number="1A00123456789"
            )
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.AWAITING_APPROVAL


def test_cancel_frees_the_items_and_logs_it(client, finance_user, late_customer):
    reminder = letter_awaiting_approval(late_customer)
    client.force_login(finance_user)
    response = client.post(
        reverse("letters:cancel", args=[reminder.pk]), {"reason": "Paid by cheque, in the post"}
    )
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.CANCELLED
    assert "Paid by cheque" in reminder.note
    assert not ReminderItem.objects.filter(reminder=reminder, active=True).exists()
    activity = Activity.objects.get(customer=late_customer)
    assert activity.author == finance_user and activity.body == "Paid by cheque, in the post"
    with pytest.raises(ValidationError):
        letters.letter_approve(user=finance_user, reminder_id=reminder.pk)


def test_approval_refused_when_nothing_is_overdue_any_more(finance_user, late_customer):
    reminder = letter_awaiting_approval(late_customer)
    make_payment(late_customer, date=timezone.localdate(), amount="1200.00")
    with pytest.raises(notice.NothingOverdueError):
        letters.letter_approve(user=finance_user, reminder_id=reminder.pk)
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.AWAITING_APPROVAL and reminder.approved_at is None


def test_posting_needs_the_stored_pdf_and_a_sane_date(finance_user, late_customer, fake_render):
    reminder = letter_awaiting_approval(late_customer)
    letters.letter_approve(user=finance_user, reminder_id=reminder.pk)  # no commit: no task
    with pytest.raises(ValidationError, match="not stored yet"):
        letters.letter_record_posting(
            user=finance_user, reminder_id=reminder.pk, tracking_number="1A00123456789"
        )
    assert letters.letter_store_pdf(reminder_id=reminder.pk)  # the task's work
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError, match="posting date"):
        letters.letter_record_posting(
            user=finance_user,
            reminder_id=reminder.pk,
            tracking_number="1A00123456789",
            posted_on=tomorrow,
        )
    with pytest.raises(ValidationError, match="registered-post number"):
        letters.letter_record_posting(
            user=finance_user, reminder_id=reminder.pk, tracking_number="1A"
        )


def test_cancelled_before_rendering_stores_nothing(finance_user, late_customer, fake_render):
    reminder = letter_awaiting_approval(late_customer)
    letters.letter_approve(user=finance_user, reminder_id=reminder.pk)
    letters.letter_cancel(user=finance_user, reminder_id=reminder.pk, reason="changed our mind")
    assert render_approved_letter(reminder.pk) is None
    reminder.refresh_from_db()
    assert not reminder.pdf


def test_list_shows_only_letters(client, finance_user, late_customer):
    letter = letter_awaiting_approval(late_customer)
    Reminder.objects.create(
        customer=CustomerFactory(name="Email Only SARL"),
        step=step(1),
        channel="email",
        status=Reminder.Status.AWAITING_APPROVAL,
        run_date=timezone.localdate(),
    )
    client.force_login(finance_user)
    body = client.get(reverse("letters:list")).content.decode()
    assert reverse("letters:detail", args=[letter.pk]) in body
    assert "Email Only SARL" not in body


def test_a_manager_reads_a_letter_without_its_actions_and_reaches_the_recovery_file(
    client, late_customer, fake_render, manager_user
):
    reminder = letter_awaiting_approval(late_customer)
    client.force_login(manager_user)
    page = client.get(reverse("letters:detail", args=[reminder.pk])).content.decode()
    for action in ("approve", "cancel", "post"):
        assert reverse(f"letters:{action}", args=[reminder.pk]) not in page
    recovery = reverse("letters:recovery_file", args=[late_customer.pk])
    assert recovery in page
    assert client.get(recovery).status_code == 200
    listing = client.get(reverse("letters:list"))
    assert listing.status_code == 200
    assert reverse("letters:detail", args=[reminder.pk]) in listing.content.decode()


@pytest.mark.clock("2026-11-18T10:00")  # no ECB rate entered for 1 July 2026 (DESIGN.md)
@pytest.mark.parametrize(
    ("language", "words"), [("en", "second half of 2026"), ("fr", "second semestre 2026")]
)
def test_the_approval_page_names_the_half_year_whose_rate_is_missing(
    client, finance_user, late_customer, fake_render, language, words
):
    from customers.models import UserPreferences

    UserPreferences.objects.update_or_create(user=finance_user, defaults={"language": language})
    reminder = letter_awaiting_approval(late_customer)
    client.force_login(finance_user)
    html = client.get(reverse("letters:detail", args=[reminder.pk])).content.decode()
    assert words in html
    assert "01/07/2026" not in html
