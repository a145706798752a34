"""Sixty consecutive days of `run_reminders` over a set of customers, checking every email
(date, recipients, step, content) against the default scenario worked out by hand.

Calendar of the window (2026-04-01 .. 2026-05-30): weekends; Easter Monday 6 April,
1 May, 8 May, Ascension 14 May and Whit Monday 25 May are French public holidays; no run
at all from 11 to 17 May (a missed week). The clock moves with the runs (07:00 in Paris each
day), so the formal notice is approved, rendered and posted on its own day through the
letters workflow, as finance staff do it.
"""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from customers.models import Activity
from receivables.models import Dispute, PromiseToPay
from reminders import services
from reminders.letters import workflow as letters
from reminders.models import Reminder, ReminderItem
from tests.factories import make_invoice, make_payment, make_reminder_customer

D = datetime.date
START = D(2026, 4, 1)
GAP = {D(2026, 5, 11) + datetime.timedelta(days=i) for i in range(7)}

# (run day, customer_ref) -> (step, invoices listed and advancing)
EXPECTED_EMAILS = {
    (D(2026, 4, 2), "ALPHA"): (1, ["A1"]),
    (D(2026, 4, 9), "ALPHA"): (2, ["A1"]),
    (D(2026, 4, 16), "ALPHA"): (3, ["A1"]),
    # Due Fri 3 April; step 1 due Sat 4, Mon 6 is Easter Monday: Tue 7.
    (D(2026, 4, 7), "BRAVO"): (1, ["B1", "B2"]),
    # B1 paid on 10 April; B2 partly paid: reminded for what is left, spacing from 7 April.
    (D(2026, 4, 14), "BRAVO"): (2, ["B2"]),
    (D(2026, 4, 21), "BRAVO"): (3, ["B2"]),
    # Disputed until 20 April: then step 1, and the spacing counts from that send.
    (D(2026, 4, 20), "CHARLIE"): (1, ["C1"]),
    (D(2026, 4, 27), "CHARLIE"): (2, ["C1"]),
    (D(2026, 5, 4), "CHARLIE"): (3, ["C1"]),
    # Promise for 10 April + 3 days of grace, broken: resumes on 14 April.
    (D(2026, 4, 14), "DELTA"): (1, ["D1"]),
    (D(2026, 4, 21), "DELTA"): (2, ["D1"]),
    (D(2026, 4, 28), "DELTA"): (3, ["D1"]),
    # Paused until 15 April.
    (D(2026, 4, 16), "ECHO"): (1, ["E1"]),
    (D(2026, 4, 23), "ECHO"): (2, ["E1"]),
    (D(2026, 4, 30), "ECHO"): (3, ["E1"]),
    # Due 1 May (holiday): step 1 due Sat 2 -> Mon 4; step 2 due 11 May falls in the missed
    # week: on 18 May only step 2 (step 3 was due 16 May by the calendar), and step 3 keeps
    # its 7 days from the actual send: 25 May is Whit Monday -> 26 May.
    (D(2026, 5, 4), "FOXTROT"): (1, ["F1"]),
    (D(2026, 5, 18), "FOXTROT"): (2, ["F1"]),
    (D(2026, 5, 26), "FOXTROT"): (3, ["F1"]),
    # Two invoices, one email a day in the tone of the highest step.
    (D(2026, 4, 2), "GOLF"): (1, ["G1"]),
    (D(2026, 4, 9), "GOLF"): (2, ["G1", "G2"]),
    (D(2026, 4, 16), "GOLF"): (3, ["G1", "G2"]),
    (D(2026, 4, 23), "GOLF"): (3, ["G2"]),
    # GOLF's notice (approved and posted on 19 May) claims G1 and G2; G3, due 20 May,
    # starts its own scenario but never milder than the customer's level: its steps 1
    # and 2 go out in the tone of the last reminder.
    (D(2026, 5, 21), "GOLF"): (3, ["G3"]),
    (D(2026, 5, 28), "GOLF"): (3, ["G3"]),
}

# (run day, customer_ref, channel, status, step)
EXPECTED_OTHER = {
    (D(2026, 4, 16), "ALPHA", "phone", 3),
    (D(2026, 5, 4), "ALPHA", "letter", 4),  # due 1 May (holiday) -> Mon 4 May
    (D(2026, 5, 20), "ALPHA", "collection", 5),  # 15 days after the letter was posted (5 May)
    (D(2026, 4, 21), "BRAVO", "phone", 3),
    (D(2026, 5, 6), "BRAVO", "letter", 4),
    (D(2026, 5, 4), "CHARLIE", "phone", 3),
    (D(2026, 5, 19), "CHARLIE", "letter", 4),
    (D(2026, 4, 28), "DELTA", "phone", 3),
    (D(2026, 5, 18), "DELTA", "letter", 4),  # due 13 May, in the missed week
    (D(2026, 4, 30), "ECHO", "phone", 3),
    (D(2026, 5, 18), "ECHO", "letter", 4),
    (D(2026, 5, 26), "FOXTROT", "phone", 3),
    (D(2026, 4, 16), "GOLF", "phone", 3),
    (D(2026, 5, 4), "GOLF", "letter", 4),
    # G2 reaches the letter step on 18 May (due 8 May, a holiday, then the gap) while
    # G1's notice awaits approval: no second notice, the first one claims G2 too.
}

SUBJECT_MARKERS = {
    ("fr", 1): "Rappel de paiement",
    ("fr", 2): "Deuxième relance",
    ("fr", 3): "Dernière relance avant recouvrement",
    ("en", 1): "Payment reminder",
    ("en", 2): "Second reminder",
    ("en", 3): "Final reminder before debt collection",
}


def _invoice(customer, number, due, amount="1000.00"):
    return make_invoice(
        customer,
        number=number,
        issue_date=due - datetime.timedelta(days=30),
        due_date=due,
        amount=amount,
    )


@pytest.mark.django_db
def test_sixty_days_of_daily_runs(
    company_profile, finance_user, clock, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    alpha = make_reminder_customer("ALPHA", cc="dg@alpha.example")
    bravo = make_reminder_customer("BRAVO", language="en")
    charlie = make_reminder_customer("CHARLIE")
    delta = make_reminder_customer("DELTA")
    echo = make_reminder_customer("ECHO", reminders_paused_until=D(2026, 4, 15))
    foxtrot = make_reminder_customer("FOXTROT")
    golf = make_reminder_customer("GOLF")
    hotel = make_reminder_customer("HOTEL", reminders_exempt=True)
    india = make_reminder_customer("INDIA", direct_debit=True)

    _invoice(alpha, "A1", D(2026, 4, 1))
    b1 = _invoice(bravo, "B1", D(2026, 4, 3), "500.00")
    b2 = _invoice(bravo, "B2", D(2026, 4, 3), "300.00")
    c1 = _invoice(charlie, "C1", D(2026, 4, 1))
    _invoice(delta, "D1", D(2026, 4, 1))
    _invoice(echo, "E1", D(2026, 4, 1))
    _invoice(foxtrot, "F1", D(2026, 5, 1), "800.00")
    _invoice(golf, "G1", D(2026, 4, 1))
    _invoice(golf, "G2", D(2026, 4, 8), "250.00")
    _invoice(golf, "G3", D(2026, 5, 20), "400.00")
    _invoice(hotel, "H1", D(2026, 3, 1))
    _invoice(india, "I1", D(2026, 3, 1))

    dispute = services.dispute_open(invoice=c1, user=finance_user, reason=Dispute.Reason.PRICE)
    clock.move_to(f"{START.isoformat()}T07:00")  # a promise is recorded before its date
    promise = services.promise_record(
        customer=delta, user=finance_user, promised_date=D(2026, 4, 10), amount=Decimal("1000.00")
    )

    def before_run(day):
        if day == D(2026, 4, 8):
            make_payment(bravo, date=day, amount="100.00", invoice=b2)
        if day == D(2026, 4, 10):
            make_payment(bravo, date=day, amount="500.00", invoice=b1)
        if day == D(2026, 4, 20):
            services.dispute_resolve(dispute=dispute, user=finance_user)
        if day == D(2026, 5, 5):
            # Approved: the PDF is rendered and stored by the django-q2 task queued on
            # commit (synchronous in tests); then the registered letter is posted.
            letter = Reminder.objects.get(customer=alpha, channel="letter")
            with django_capture_on_commit_callbacks(execute=True):
                letters.letter_approve(user=finance_user, reminder_id=letter.pk)
            letters.letter_record_posting(
                user=finance_user, reminder_id=letter.pk, tracking_number="1A00000001"
            )
        if day == D(2026, 5, 19):
            # GOLF has one notice (planned 4 May for G1), whatever G2 did meanwhile.
            letter = Reminder.objects.get(customer=golf, channel="letter")
            with django_capture_on_commit_callbacks(execute=True):
                letters.letter_approve(user=finance_user, reminder_id=letter.pk)
            letters.letter_record_posting(
                user=finance_user, reminder_id=letter.pk, tracking_number="1A00000002"
            )

    seen_emails = {}
    mail.outbox.clear()
    for offset in range(60):
        day = START + datetime.timedelta(days=offset)
        if day in GAP:
            continue
        clock.move_to(f"{day.isoformat()}T07:00")
        before_run(day)
        call_command("run_reminders", "--date", day.isoformat(), stdout=_Null())
        sent_today = list(mail.outbox)
        mail.outbox.clear()
        # Rerunning the day sends nothing twice.
        call_command("run_reminders", "--date", day.isoformat(), stdout=_Null())
        assert mail.outbox == [], f"rerun of {day} sent again"
        for message in sent_today:
            reminder = Reminder.objects.get(pk=int(message.extra_headers["X-Relance-Reminder"]))
            key = (day, reminder.customer.customer_ref)
            assert key not in seen_emails, f"two emails for {key}"
            seen_emails[key] = (message, reminder)

    assert set(seen_emails) == set(EXPECTED_EMAILS), sorted(set(seen_emails) ^ set(EXPECTED_EMAILS))
    for key, (step, invoices) in EXPECTED_EMAILS.items():
        message, reminder = seen_emails[key]
        customer = reminder.customer
        assert reminder.status == Reminder.Status.SENT
        assert reminder.step.position == step, key
        assert reminder.run_date == key[0]
        assert message.to == [f"{customer.customer_ref.lower()}@client.example"]
        if customer.customer_ref == "ALPHA":
            assert message.cc == ["dg@alpha.example"]
        assert SUBJECT_MARKERS[(customer.language, step)] in message.subject, key
        listed = sorted(reminder.items.values_list("installment__invoice__number", flat=True))
        assert listed == invoices, key
        html = message.alternatives[0].content
        for number in invoices:
            assert number in message.body and number in html
        assert "FR7630006000011234567890189" in message.body
        assert f"{customer.customer_ref} {' '.join(invoices)}" in message.body  # payment ref
        assert message.extra_headers["Message-ID"] == reminder.message_id

    # Content details: the partly paid installment is reminded for what is left, in English.
    bravo_second, _ = seen_emails[(D(2026, 4, 14), "BRAVO")]
    assert "€200.00" in bravo_second.body and "B1" not in bravo_second.body
    alpha_first, _ = seen_emails[(D(2026, 4, 2), "ALPHA")]
    assert "1\u202f000,00\u00a0€" in alpha_first.body and "01/04/2026" in alpha_first.body
    # The last email before recovery says so.
    alpha_last, _ = seen_emails[(D(2026, 4, 16), "ALPHA")]
    assert "dernière relance avant recouvrement" in alpha_last.body
    # A step-3 email for G2 lists G1 (now between steps) for information only.
    golf_last, golf_reminder = seen_emails[(D(2026, 4, 23), "GOLF")]
    assert "G1" in golf_last.body and golf_reminder.items.count() == 1

    others = {
        (r.run_date, r.customer.customer_ref, r.channel, r.step.position)
        for r in Reminder.objects.exclude(channel="email").select_related("customer", "step")
    }
    assert others == EXPECTED_OTHER
    assert set(
        Reminder.objects.filter(channel="letter")
        .exclude(customer__in=[alpha, golf])
        .values_list("status", flat=True)
    ) == {Reminder.Status.AWAITING_APPROVAL}
    # GOLF's one notice claims every overdue installment on the day it was approved,
    # G1 and G2 (which reached the letter step on different days), with the letter's
    # own figures; G3, due after it, is not claimed.
    golf_letter = Reminder.objects.get(customer=golf, channel="letter")
    assert golf_letter.status == Reminder.Status.SENT
    claimed = {
        i.installment.invoice.number: (i.amount_left, i.step.position)
        for i in golf_letter.items.filter(active=True).select_related("installment__invoice")
    }
    assert claimed == {"G1": (Decimal("1000.00"), 4), "G2": (Decimal("250.00"), 4)}
    # 1250.00 of principal, two EUR 40 indemnities and the interest to 19 May.
    assert golf_letter.total_amount > Decimal("1330.00")
    # Nothing milder follows a notice: no email for G1 or G2 after it, and every GOLF
    # email after it in the tone of the last reminder at least.
    after = Reminder.objects.filter(customer=golf, channel="email", run_date__gt=D(2026, 5, 19))
    assert after.count() == 2
    assert all(r.step.position >= 3 for r in after)
    assert not ReminderItem.objects.filter(
        reminder__in=after, installment__invoice__number__in=["G1", "G2"]
    ).exists()
    # ALPHA's notice went through the letters workflow: approved, stored once, posted on
    # 5 May, from which the collection step counted its 15 days.
    alpha_letter = Reminder.objects.get(customer=alpha, channel="letter")
    assert alpha_letter.status == Reminder.Status.SENT
    assert alpha_letter.approved_by == finance_user
    assert timezone.localdate(alpha_letter.approved_at) == D(2026, 5, 5)
    assert alpha_letter.pdf and alpha_letter.tracking_number == "1A00000001"
    assert alpha_letter.attempted_on == D(2026, 5, 5)
    letter_log = Activity.objects.filter(customer=alpha, kind="letter").order_by("pk")
    assert [a.summary.split(" (")[0] for a in letter_log] == [
        "Formal notice approved",
        "Formal notice PDF stored",
        "Formal notice posted, registered letter 1A00000001",
    ]
    assert not Reminder.objects.filter(customer__in=[hotel, india]).exists()
    # One timeline entry per sent email; the broken promise is on the timeline too.
    assert Activity.objects.filter(kind="email").count() == len(EXPECTED_EMAILS)
    promise.refresh_from_db()
    assert promise.status == PromiseToPay.Status.BROKEN
    assert Activity.objects.filter(customer=delta, kind="promise", outcome="broken").exists()
    # Each installment took each step at most once.
    assert ReminderItem.objects.filter(active=True).count() == len(
        set(ReminderItem.objects.values_list("installment_id", "step_id"))
    )


@pytest.mark.django_db
def test_minimum_amount_skips_a_small_balance(company_profile):
    from reminders.models import ScenarioStep

    ScenarioStep.objects.filter(position=1).update(min_amount=Decimal("50.00"))
    small = make_reminder_customer("SMALL")
    big = make_reminder_customer("BIG")
    _invoice(small, "S1", D(2026, 4, 1), "20.00")
    _invoice(small, "S2", D(2026, 4, 1), "20.00")
    _invoice(big, "BG1", D(2026, 4, 1), "30.00")
    _invoice(big, "BG2", D(2026, 4, 1), "30.00")
    mail.outbox.clear()
    call_command("run_reminders", "--date", "2026-04-02", stdout=_Null())
    assert [m.to for m in mail.outbox] == [["big@client.example"]]


@pytest.mark.django_db
def test_dry_run_prints_and_writes_nothing(company_profile):
    customer = make_reminder_customer("DRY", cc="boss@dry.example")
    _invoice(customer, "DR1", D(2026, 4, 1), "123.45")
    out = _Buffer()
    mail.outbox.clear()
    call_command("run_reminders", "--date", "2026-04-02", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "DRY" in text and "dry@client.example" in text and "boss@dry.example" in text
    assert "DR1#1" in text and "123,45" in text and "step 1" in text
    assert mail.outbox == []
    assert not Reminder.objects.exists()


@pytest.mark.django_db
def test_non_business_day_sends_nothing(company_profile):
    customer = make_reminder_customer("WEEKEND")
    _invoice(customer, "W1", D(2026, 7, 10))  # Friday; step 1 due Sat 11, 13 Mon, 14 holiday
    mail.outbox.clear()
    for day in ("2026-07-11", "2026-07-12", "2026-07-14"):
        call_command("run_reminders", "--date", day, stdout=_Null())
    assert mail.outbox == []
    call_command("run_reminders", "--date", "2026-07-13", stdout=_Null())
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_bad_date_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Invalid date"):
        call_command("run_reminders", "--date", "31/02/2026")


class _Null:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass


class _Buffer:
    def __init__(self):
        self.parts = []

    def write(self, text, *args, **kwargs):
        self.parts.append(text)

    def flush(self):
        pass

    def getvalue(self):
        return "".join(self.parts)


@pytest.mark.django_db
@pytest.mark.clock("2026-04-01T09:00")
def test_a_future_date_is_refused_unless_dry_run_or_forced(company_profile):
    """``--date`` after today would send a step early to every customer: refused with a
    clear message, nothing written or sent; --dry-run previews it, --force sends."""
    from django.core.management.base import CommandError

    customer = make_reminder_customer("FUTURE")
    _invoice(customer, "FU1", D(2026, 4, 1), "50.00")  # step 1 due tomorrow
    mail.outbox.clear()
    with pytest.raises(CommandError) as refused:
        call_command("run_reminders", "--date", "2026-04-02", stdout=_Null())
    assert str(refused.value) == (
        "--date 2026-04-02 is after today (2026-04-01): a run sends for real. Add --dry-run "
        "to preview that day, or --force to send now as of that day."
    )
    assert mail.outbox == [] and not Reminder.objects.exists()
    out = _Buffer()
    call_command("run_reminders", "--date", "2026-04-02", "--dry-run", stdout=out)
    assert "FU1#1" in out.getvalue() and mail.outbox == [] and not Reminder.objects.exists()
    call_command("run_reminders", "--date", "2026-04-01", stdout=_Null())  # today: as ever
    assert mail.outbox == []
    call_command("run_reminders", "--date", "2026-04-02", "--force", stdout=_Null())
    assert len(mail.outbox) == 1
    assert Reminder.objects.get().run_date == D(2026, 4, 2)
