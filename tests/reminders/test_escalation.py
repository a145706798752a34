"""Escalation per customer: at most one formal notice in progress (the planner, a rerun,
two workers at once and the database), a notice that claims every overdue installment
when it is approved and whose figures are shown everywhere, no email beside a notice and
none milder after it."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from core.money import format_money
from reminders.letters import workflow as letters
from reminders.letters.context import build_letter_context
from reminders.models import Reminder, ReminderItem
from reminders.run import reminders_run
from reminders.selectors import reminders_preview
from tests.factories import make_invoice, make_reminder_customer
from tests.reminders.test_letters import flat, pdf_text, step

D = datetime.date
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_days(clock, first: datetime.date, last: datetime.date, *, rerun: bool = False) -> None:
    day = first
    while day <= last:
        clock.move_to(f"{day.isoformat()}T07:00")
        reminders_run(run_date=day)
        if rerun:
            reminders_run(run_date=day)
        day += DAY


def approve_and_post(user, letter: Reminder, capture, number: str = "1A00000009") -> Reminder:
    with capture(execute=True):
        letters.letter_approve(user=user, reminder_id=letter.pk)
    return letters.letter_record_posting(user=user, reminder_id=letter.pk, tracking_number=number)


def claimed(letter: Reminder) -> dict[str, Decimal]:
    return {
        f"{i.installment.invoice.number}#{i.installment.sequence}": i.amount_left
        for i in letter.items.filter(active=True).select_related("installment__invoice")
    }


@pytest.fixture
def split(company_profile):
    """S1 (due Mon 2 March) reaches the letter step on Wed 1 April, the very day S2 (due
    Tue 31 March) would get its first, courteous email."""
    customer = make_reminder_customer("SPLIT")
    make_invoice(customer, number="S1", issue_date=D(2026, 2, 1), due_date=D(2026, 3, 2))
    make_invoice(customer, number="S2", issue_date=D(2026, 3, 1), due_date=D(2026, 3, 31))
    return customer


@pytest.mark.django_db
def test_preview_and_run_never_plan_a_first_email_beside_a_notice(
    split, clock, finance_user, django_capture_on_commit_callbacks
):
    run_days(clock, D(2026, 3, 2), D(2026, 3, 31))
    preview = reminders_preview(user=finance_user, start=D(2026, 4, 1), days=7)
    plans = {d.day: p for d in preview.days for p in d.plans if p.customer.id == split.pk}
    assert plans[D(2026, 4, 1)].letters and not plans[D(2026, 4, 1)].emails
    assert all(not (p.emails and p.letters) for p in plans.values())
    # The preview assumes the notice approved: nothing milder follows in the week.
    assert all(not p.emails for p in plans.values())

    mail.outbox.clear()
    run_days(clock, D(2026, 4, 1), D(2026, 4, 1))
    assert mail.outbox == []
    letter = Reminder.objects.get(customer=split, channel="letter")
    assert letter.status == Reminder.Status.AWAITING_APPROVAL
    # Awaiting approval, it already shows what it would claim today: both invoices.
    assert claimed(letter) == {"S1#1": Decimal("1000.00"), "S2#1": Decimal("1000.00")}

    clock.move_to("2026-04-02T09:00")
    approve_and_post(finance_user, letter, django_capture_on_commit_callbacks)
    run_days(clock, D(2026, 4, 2), D(2026, 4, 14))
    # Both reached the letter step: no email at all follows the notice (S2 never got its
    # courteous first one), and the collection step counts from the posting.
    emails = Reminder.objects.filter(customer=split, channel="email")
    assert not emails.filter(run_date__gte=D(2026, 4, 1)).exists()
    assert mail.outbox == []
    letter.refresh_from_db()
    assert claimed(letter) == {"S1#1": Decimal("1000.00"), "S2#1": Decimal("1000.00")}


@pytest.mark.django_db
def test_a_second_invoice_at_the_letter_step_waits_for_the_notice_in_progress(
    company_profile, clock, finance_user, django_capture_on_commit_callbacks
):
    customer = make_reminder_customer("TWO")
    make_invoice(customer, number="T1", issue_date=D(2026, 2, 1), due_date=D(2026, 3, 2))
    make_invoice(
        customer, number="T2", issue_date=D(2026, 2, 9), due_date=D(2026, 3, 9), amount="500.00"
    )
    # T1 reaches the letter step on 1 April, T2 on 8 April; every day is run twice.
    run_days(clock, D(2026, 3, 2), D(2026, 4, 15), rerun=True)
    notices = Reminder.objects.filter(customer=customer, channel="letter")
    assert notices.count() == 1
    letter = notices.get()
    assert letter.run_date == D(2026, 4, 1)
    assert claimed(letter) == {"T1#1": Decimal("1000.00"), "T2#1": Decimal("500.00")}

    clock.move_to("2026-04-15T09:00")
    approve_and_post(finance_user, letter, django_capture_on_commit_callbacks)
    letter.refresh_from_db()
    assert claimed(letter) == {"T1#1": Decimal("1000.00"), "T2#1": Decimal("500.00")}
    context = build_letter_context(customer=customer, letter_date=D(2026, 4, 15), reminder=letter)
    assert letter.total_amount == context.total_amount
    # A new invoice after the notice starts its own scenario, in the tone of the last
    # reminder at least; the claimed ones get no email.
    make_invoice(
        customer, number="T3", issue_date=D(2026, 3, 20), due_date=D(2026, 4, 20), amount="80.00"
    )
    run_days(clock, D(2026, 4, 16), D(2026, 4, 27))
    emails = list(
        Reminder.objects.filter(customer=customer, channel="email", run_date__gt=D(2026, 4, 15))
    )
    assert [e.run_date for e in emails] == [D(2026, 4, 21)]
    assert emails[0].step.position == 3
    assert [i.installment.invoice.number for i in emails[0].items.all()] == ["T3"]
    assert emails[0].items.get().step.position == 1  # its own scenario goes on from step 1
    assert Reminder.objects.filter(customer=customer, channel="letter").count() == 1
    # T3 reaches the letter step on 20 May: a second notice, restating all that is
    # overdue; T1 and T2 took the letter step with the first one (whose items stay
    # live), and their collection step came 15 days after its posting.
    run_days(clock, D(2026, 4, 28), D(2026, 5, 22))
    collection = Reminder.objects.get(customer=customer, channel="collection")
    assert collection.run_date == D(2026, 4, 30)
    second = Reminder.objects.notices_in_progress().get(customer=customer)
    assert second.run_date == D(2026, 5, 20)
    assert claimed(second) == {"T3#1": Decimal("80.00")}
    assert set(second.items.values_list("installment__invoice__number", flat=True)) == {
        "T1",
        "T2",
        "T3",
    }
    assert claimed(letter) == {"T1#1": Decimal("1000.00"), "T2#1": Decimal("500.00")}


def _letter(customer, status) -> Reminder:
    return Reminder(
        customer=customer,
        step=step(4),
        channel=Reminder.Channel.LETTER,
        status=status,
        run_date=D(2026, 4, 1),
    )


@pytest.mark.django_db
def test_the_database_refuses_a_second_notice_in_progress(company_profile):
    customer = make_reminder_customer("DB")
    S = Reminder.Status
    _letter(customer, S.SENT).save()
    _letter(customer, S.CANCELLED).save()
    _letter(customer, S.AWAITING_APPROVAL).save()
    for status in (S.AWAITING_APPROVAL, S.SENDING):
        second = _letter(customer, status)
        with pytest.raises(ValidationError, match="already has a formal notice in progress"):
            second.validate_constraints()
        with pytest.raises(IntegrityError), transaction.atomic():
            second.save()
    # Another customer, and emails, are not concerned.
    _letter(make_reminder_customer("OTHER"), S.AWAITING_APPROVAL).save()
    assert Reminder.objects.notices_in_progress().count() == 2


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_writers_create_one_notice(company_profile):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers")
    customer = make_reminder_customer("RACE")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                _letter(customer, Reminder.Status.AWAITING_APPROVAL).save()
            outcomes.append("created")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["created", "refused"]
    assert Reminder.objects.notices_in_progress().filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_the_notice_figures_are_the_same_everywhere(
    split, clock, client, finance_user, django_capture_on_commit_callbacks
):
    run_days(clock, D(2026, 3, 2), D(2026, 4, 1))
    letter = Reminder.objects.get(customer=split, channel="letter")
    client.force_login(finance_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # Awaiting approval: the worklist row and the letters list show what it claims today.
    context = build_letter_context(customer=split, letter_date=D(2026, 4, 1), reminder=letter)
    assert letter.total_amount == context.total_amount
    shown = format_money(letter.total_amount, "en")
    row = client.get(reverse("workplaces:dashboard_section", args=["letters"])).content.decode()
    assert shown in row
    assert shown in client.get(reverse("letters:list")).content.decode()

    clock.move_to("2026-04-03T09:00")
    approve_and_post(finance_user, letter, django_capture_on_commit_callbacks)
    letter.refresh_from_db()
    context = build_letter_context(customer=split, letter_date=D(2026, 4, 3), reminder=letter)
    assert letter.total_amount == context.total_amount
    assert sum(claimed(letter).values()) == context.claim.principal
    shown = format_money(letter.total_amount, "en")
    assert shown in client.get(reverse("letters:list")).content.decode()
    # The letter page gives the letter's figures in the letter's language.
    detail = client.get(reverse("letters:detail", args=[letter.pk])).content.decode()
    assert format_money(letter.total_amount, "fr") in detail
    page = client.get(reverse("workplaces:customer_detail", args=[split.pk])).content.decode()
    assert shown in page  # the timeline
    with letter.pdf.open("rb") as f:
        text = flat(pdf_text(f.read()))
    assert flat(format_money(letter.total_amount, "fr")) in text
    assert flat(format_money(context.claim.principal, "fr")) in text


@pytest.mark.django_db
def test_cancelling_the_notice_is_the_person_going_back(
    split, clock, finance_user, django_capture_on_commit_callbacks
):
    run_days(clock, D(2026, 3, 2), D(2026, 4, 1))
    letter = Reminder.objects.get(customer=split, channel="letter")
    letters.letter_cancel(user=finance_user, reminder_id=letter.pk, reason="Call first")
    assert not ReminderItem.objects.filter(reminder=letter, active=True).exists()
    # Back to where each stood: S1 takes its letter step again the next run (one
    # notice at a time), S2 is claimed by it again rather than getting a milder email.
    mail.outbox.clear()
    run_days(clock, D(2026, 4, 2), D(2026, 4, 2))
    notice = Reminder.objects.notices_in_progress().get(customer=split)
    assert notice.pk != letter.pk
    assert claimed(notice) == {"S1#1": Decimal("1000.00"), "S2#1": Decimal("1000.00")}
    assert mail.outbox == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_plan_one_notice(company_profile, clock):
    """Runs of two dates at once (a catch-up beside the morning's run) both find the
    letter step due: the customer lock makes the second see the first's notice."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers")
    customer = make_reminder_customer("RUNS")
    make_invoice(customer, number="R1", issue_date=D(2026, 2, 1), due_date=D(2026, 3, 2))
    run_days(clock, D(2026, 3, 2), D(2026, 3, 31))
    clock.move_to("2026-04-02T07:00")
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def worker(day):
        try:
            barrier.wait(timeout=10)
            reminders_run(run_date=day)
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(d,)) for d in (D(2026, 4, 1), D(2026, 4, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert Reminder.objects.filter(customer=customer, channel="letter").count() == 1
