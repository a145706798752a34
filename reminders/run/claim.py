"""Claim: write the day's decisions before anything leaves. An installment takes each
step once (``ReminderItem``'s unique key, enforced by the database), so a rerun or a
second worker plans nothing twice; an email is claimed with ``SELECT … FOR UPDATE SKIP
LOCKED``, marked "sending" with its attempt and its fixed Message-ID, and committed before
it is sent. Stale rows are settled first: promises past their grace, emails whose
situation changed, sends interrupted by a crash."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import webhooks
from core.money import ZERO
from customers.models import Activity, Customer
from customers.portal_links import tokens_for
from receivables.models import CompanyProfile, Installment, PromiseToPay
from reminders import emails as mail
from reminders.letters.context import build_letter_context, letter_date_of
from reminders.letters.workflow import notice_event, notice_record_claim, queue_letter_render
from reminders.models import (
    Reminder,
    ReminderItem,
)
from reminders.run import plan as planner

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = Reminder.Status
Channel = Reminder.Channel

# Without PostgreSQL's advisory locks (SQLite), a claim this old counts as abandoned.
SENDING_TIMEOUT = datetime.timedelta(minutes=30)
# The first key of the senders' advisory locks (the second is the claim token): "REL".
SENDER_LOCK_CLASS = 0x52454C
MAX_ATTEMPTS = 6
SEND_BATCH = 200
BULK_BATCH = 2000

ACTION_CHANNEL: dict[str, Reminder.Channel] = {
    planner.Action.EMAIL: Channel.EMAIL,
    planner.Action.LETTER: Channel.LETTER,
    planner.Action.PHONE: Channel.PHONE,
    planner.Action.COLLECTION: Channel.COLLECTION,
}


def recover_stranded(*, now: datetime.datetime) -> tuple[int, int]:
    """Settle the emails a dead sender left "sending" (a crash, a kill, a lost database
    connection): those it never handed to the mail server certainly did not leave and
    are due again at once (the caller's delivery re-sends them, after the same check as
    any retry); those it handed over may have left, and go to the worklist as
    "unknown", never re-sent automatically. Returns (due again, unknown).

    A sender holds a PostgreSQL advisory lock on its claim token while it sends
    (run/send.py), so a sender is dead as soon as its lock is free: a crashed batch is
    recovered by the next run or the watchdog, minutes later. Elsewhere (SQLite), and
    for rows claimed before tokens existed, a claim older than :data:`SENDING_TIMEOUT`
    counts as dead."""
    # Emails only: an approved letter stays "sending" until its posting is recorded.
    sending = Reminder.objects.emails().filter(status=Status.SENDING)
    old = Q(claimed_at__lt=now - SENDING_TIMEOUT)
    tokens = set(sending.exclude(claim_token=None).values_list("claim_token", flat=True))
    if connection.vendor == "postgresql":
        dead = [token for token in sorted(tokens) if sender_gone(token)]
        stranded = sending.filter(Q(claim_token__in=dead) | Q(claim_token=None) & old)
    else:
        stranded = sending.filter(old)
    # Legacy rows (no token) recorded nothing about the hand-over: unknown.
    unknown = stranded.filter(Q(handed_at__isnull=False) | Q(claim_token=None)).update(
        status=Status.UNKNOWN,
        last_error=_(
            "Interrupted while the mail server was receiving it: check with the Message-ID "
            "whether it left."
        ),
    )
    not_sent = _("Interrupted before it reached the mail server: it is sent again.")
    due_again = stranded.filter(handed_at=None, attempts__lt=MAX_ATTEMPTS).update(
        status=Status.FAILED, next_attempt_at=now, last_error=not_sent
    )
    stranded.filter(handed_at=None).update(
        status=Status.FAILED, next_attempt_at=None, last_error=not_sent
    )
    if due_again or unknown:
        logger.warning(
            "reminders: recovered a stranded send: %s due again, %s unknown", due_again, unknown
        )
    return due_again, unknown


def sender_gone(token: int) -> bool:
    """Whether the sender that claimed with ``token`` is gone (PostgreSQL): its advisory
    lock is free. Taken and released at once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SENDER_LOCK_CLASS, token])
        (free,) = cursor.fetchone()
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SENDER_LOCK_CLASS, token])
    return bool(free)


def settle_promises(*, run_date: datetime.date) -> int:
    """Close the pending promises whose date plus grace has passed: kept when what they
    covered is paid, else broken (reminders resume, and the timeline says so)."""
    grace_days = CompanyProfile.get().promise_grace_days
    expired = PromiseToPay.objects.expired_on(run_date, grace_days=grace_days)
    open_named = Installment.objects.open().filter(invoice__promises=OuterRef("pk"))
    open_all = Installment.objects.open().filter(
        invoice__customer=OuterRef("customer"), due_date__lte=OuterRef("promised_date")
    )
    has_invoices = PromiseToPay.invoices.through.objects.filter(promisetopay=OuterRef("pk"))
    broken_q = (Exists(has_invoices) & Exists(open_named)) | (
        ~Exists(has_invoices) & Exists(open_all)
    )
    broken = list(
        expired.filter(broken_q).values_list("pk", "customer_id", "promised_date", "amount")
    )
    if broken:
        PromiseToPay.objects.filter(pk__in=[b[0] for b in broken]).update(
            status=PromiseToPay.Status.BROKEN
        )
        Activity.objects.bulk_create(
            [
                Activity(
                    customer_id=customer_id,
                    kind=Activity.Kind.PROMISE,
                    summary=_("Promise to pay of %(amount)s for %(date)s broken: reminders resume")
                    % {"amount": amount, "date": promised.isoformat()},
                    outcome="broken",
                    next_action_date=run_date,
                )
                for _pk, customer_id, promised, amount in broken
            ],
            batch_size=BULK_BATCH,
        )
        for pk, customer_id, promised, amount in broken:
            webhooks.emit(
                "promise.broken",
                {
                    "promise": pk,
                    "customer": customer_id,
                    "promised_date": promised,
                    "amount": amount,
                },
            )
    expired.update(status=PromiseToPay.Status.KEPT)
    return len(broken)


def retry_due(run_date: datetime.date, now: datetime.datetime):
    """Failed emails whose backoff has passed, or whose last attempt was an earlier
    day's run (a new daily run always retries, whatever the clock says)."""
    return (
        Reminder.objects.emails()
        .filter(
            status=Status.FAILED,
            attempts__lt=MAX_ATTEMPTS,
            next_attempt_at__isnull=False,
        )
        .filter(Q(next_attempt_at__lte=now) | Q(attempted_on__lt=run_date))
    )


def cancel_stale_pending(*, run_date: datetime.date, now: datetime.datetime) -> int:
    """Before retrying an email, or sending one planned by an earlier run, check that it
    still says the truth: if an installment it lists may no longer be reminded today
    (``Installment.objects.remindable``: paid, disputed, promised, paused...) or its amount
    left changed (a partial payment), cancel it; the planner then recomputes a fresh email
    for what is still due. Set-based: two reads and two updates."""
    pending = (
        Reminder.objects.emails()
        .filter(
            Q(status=Status.PLANNED, run_date__lt=run_date)
            | Q(pk__in=retry_due(run_date, now).values("pk"))
        )
        .values("pk")
    )
    items = list(
        ReminderItem.objects.filter(active=True, reminder__in=pending).values_list(
            "reminder_id", "installment_id", "amount_left"
        )
    )
    if not items:
        return 0
    left_now = {
        pk: amount - paid
        for pk, amount, paid in Installment.objects.remindable(on=run_date)
        .filter(
            pk__in=ReminderItem.objects.filter(active=True, reminder__in=pending).values(
                "installment_id"
            )
        )
        .values_list("pk", "amount", "paid_amount")
    }
    stale = {
        reminder_id
        for reminder_id, installment_id, amount_left in items
        if left_now.get(installment_id) != amount_left
    }
    if stale:
        Reminder.objects.filter(pk__in=stale).update(
            status=Status.CANCELLED,
            next_attempt_at=None,
            last_error=_("Cancelled before sending: the amounts or the situation changed."),
        )
        ReminderItem.objects.filter(reminder__in=stale).update(active=False)
    return len(stale)


def persist_plans(
    *,
    plans: list[planner.CustomerPlan],
    run_date: datetime.date,
    scenarios: planner.Scenarios,
    actor: User | None = None,
    skipped: list[planner.Skipped] | None = None,
) -> list[Reminder]:
    """Write the day's plans: one email per customer (rendered now, with its Message-ID),
    a letter (awaiting approval, or approved by the run when its step needs no approval:
    its PDF is then rendered after commit), worklist tasks; then their items. A handful of
    queries whatever the number of customers."""
    if not plans:
        return []
    company = CompanyProfile.get()
    recipients = mail.load_recipients(p.customer.id for p in plans if p.emails)
    book = mail.TemplateBook() if any(p.emails for p in plans) else None
    tokens = tokens_for(p.customer.id for p in plans if p.emails)
    # The planner already holds a letter while the customer has a notice in progress;
    # checked again here against the database, after locking the customers concerned so
    # that a run of another date at the same time waits and then sees this one's notice
    # (the database's constraint has the last word).
    letter_customers = sorted(p.customer.id for p in plans if p.letters)
    if letter_customers:
        list(
            Customer.objects.select_for_update()
            .filter(pk__in=letter_customers)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    with_notice = set(
        Reminder.objects.notices_in_progress()
        .filter(customer_id__in=letter_customers)
        .values_list("customer_id", flat=True)
    )
    reminders: list[Reminder] = []
    item_groups: list[list[planner.PlannedItem]] = []
    for plan in plans:
        cid = plan.customer.id
        if plan.emails:
            # Emails to send: the run's template book exists, and so does their step.
            assert book is not None and plan.email_step is not None
            rec = recipients[cid]
            try:
                rendered = mail.render_email(
                    plan=plan, recipients=rec, company=company, book=book, tokens=tokens
                )
            except Exception as exc:  # one customer's data never stops the run
                if skipped is None:
                    raise
                logger.exception("reminders: customer %s: email not rendered", cid)
                skipped.append(
                    planner.Skipped(
                        cid,
                        plan.customer.name,
                        _("Its email could not be written (%(error)s).")
                        % {"error": f"{type(exc).__name__}: {exc}"},
                    )
                )
                continue
            reminders.append(
                Reminder(
                    customer_id=cid,
                    step_id=plan.email_step.id,
                    channel=Channel.EMAIL,
                    status=Status.PLANNED,
                    run_date=run_date,
                    language=plan.customer.language,
                    total_amount=plan.email_total,
                    subject=rendered.subject,
                    body_text=rendered.body_text,
                    body_html=rendered.body_html,
                    qr_payload=rendered.qr_payload,
                    recipients=rec.as_json(),
                    message_id=mail.new_message_id(),
                    actor=actor,
                )
            )
            item_groups.append(plan.emails)
            phone_step = plan.phone_task_step
            if phone_step is not None:
                reminders.append(
                    _task(cid, phone_step.id, Channel.PHONE, run_date, actor, plan.email_total)
                )
                item_groups.append([])
        if plan.letters and cid not in with_notice:
            step = max((i.step for i in plan.letters), key=lambda s: s.position)
            total = sum((i.installment.amount_left for i in plan.letters), ZERO)
            reminders.append(
                Reminder(
                    customer_id=cid,
                    step_id=step.id,
                    channel=Channel.LETTER,
                    # A step that needs nobody's approval is approved by the run itself.
                    status=Status.AWAITING_APPROVAL if step.approval_required else Status.SENDING,
                    approved_at=None if step.approval_required else timezone.now(),
                    run_date=run_date,
                    language=plan.customer.language,
                    total_amount=total,
                    actor=actor,
                )
            )
            item_groups.append(plan.letters)
        by_step: dict[int, list[planner.PlannedItem]] = {}
        for item in plan.tasks:
            by_step.setdefault(item.step.id, []).append(item)
        for step_id, group in by_step.items():
            channel = ACTION_CHANNEL[group[0].step.action]
            total = sum((i.installment.amount_left for i in group), ZERO)
            reminders.append(_task(cid, step_id, channel, run_date, actor, total))
            item_groups.append(group)
    Reminder.objects.bulk_create(reminders, batch_size=BULK_BATCH)
    insert_items(
        (reminder.pk, item.installment.id, item.step.id, item.installment.amount_left,
         item.days_late)
        for reminder, group in zip(reminders, item_groups, strict=True)
        for item in group
    )  # fmt: skip
    for reminder in reminders:
        if reminder.channel == Channel.LETTER and reminder.status == Status.SENDING:
            approve_by_run(reminder)
            transaction.on_commit(partial(queue_letter_render, reminder.pk))
    return reminders


ITEM_COLUMNS = ("reminder_id", "installment_id", "step_id", "amount_left", "days_late")


def insert_items(rows: Iterable[tuple[int, int, int, Decimal, int]]) -> None:
    """Write reminder items (live): on PostgreSQL with one ``COPY`` (a run at a million
    invoices writes over half a million of them), elsewhere with ``bulk_create``. The
    database checks them the same way either way: a step already taken fails the whole
    write (``reminder_item_once_per_step``), and the transaction with it."""
    if connection.vendor != "postgresql":
        ReminderItem.objects.bulk_create(
            (ReminderItem(**dict(zip(ITEM_COLUMNS, row, strict=True))) for row in rows),
            batch_size=BULK_BATCH,
        )
        return
    table = ReminderItem._meta.db_table
    statement = f"COPY {table} ({', '.join(ITEM_COLUMNS)}, active) FROM STDIN"
    # Django's error classes (an IntegrityError for a step already taken), as for a query.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row((*row, True))


SKIPPED_OUTCOME = "unplannable"


def report_skipped(skipped: list[planner.Skipped], *, run_date: datetime.date) -> int:
    """Put each customer the run could not plan on the finance worklist: a timeline entry
    with a next action today (the worklist's follow-ups), unless the same problem is
    already waiting there (no new entry every day). Returns how many were added."""
    if not skipped:
        return 0
    waiting = set(
        Activity.objects.filter(
            customer_id__in=[s.customer_id for s in skipped],
            outcome=SKIPPED_OUTCOME,
            occurred_at__gte=timezone.now() - datetime.timedelta(days=7),
        ).values_list("customer_id", "body")
    )
    entries = [
        Activity(
            customer_id=s.customer_id,
            kind=Activity.Kind.NOTE,
            summary=_("Reminders not planned: correct this customer's data")[:255],
            body=s.reason,
            outcome=SKIPPED_OUTCOME,
            next_action_date=run_date,
        )
        for s in skipped
        if (s.customer_id, s.reason) not in waiting
    ]
    Activity.objects.bulk_create(entries, batch_size=BULK_BATCH)
    for s in skipped:
        logger.error("reminders %s: customer %s not planned: %s", run_date, s.customer_id, s.reason)
    return len(entries)


def refresh_notices(*, run_date: datetime.date) -> int:
    """Bring every notice awaiting approval up to date as of ``run_date``: what it
    would claim if approved that day becomes its items and total, so the worklist and
    the letters list show the letter's own figures before approval too. A few queries per
    notice awaiting approval (there are few)."""
    refreshed = 0
    for letter in (
        Reminder.objects.notices_in_progress()
        .filter(status=Status.AWAITING_APPROVAL)
        .select_related("customer")
        .select_for_update(of=("self",))
    ):
        try:
            context = build_letter_context(
                customer=letter.customer, letter_date=run_date, reminder=letter
            )
        except ValidationError as exc:  # nothing overdue any more, a missing ECB rate
            logger.info("Letter %s: claim not refreshed (%s).", letter.pk, exc)
            continue
        notice_record_claim(reminder=letter, context=context)
        refreshed += 1
    return refreshed


def approve_by_run(reminder: Reminder) -> None:
    """A letter step that needs nobody's approval is approved by the run: like an
    approval by a person, the notice claims what the customer owes on its date."""
    letter = Reminder.objects.select_related("customer").get(pk=reminder.pk)
    try:
        context = build_letter_context(
            customer=letter.customer, letter_date=letter_date_of(letter), reminder=letter
        )
    except ValidationError as exc:  # e.g. a missing ECB rate: keeps the planned items
        logger.warning("Letter %s: its claim could not be computed (%s).", reminder.pk, exc)
        return
    notice_record_claim(reminder=letter, context=context)
    notice_event("notice.approved", letter, total=context.total)


def _task(customer_id, step_id, channel, run_date, actor, total) -> Reminder:
    return Reminder(
        customer_id=customer_id,
        step_id=step_id,
        channel=channel,
        status=Status.TODO,
        run_date=run_date,
        total_amount=total,
        actor=actor,
    )


def claim_batch(
    *, run_date: datetime.date, now: datetime.datetime, ids: list[int] | None, token: int
) -> list[Reminder]:
    """Claim a batch of emails to send: lock them (skipping rows another worker holds),
    mark them "sending" with the sender's ``token``, and commit before anything leaves.
    An attempt is counted when the mail server is reached (run/record.py), not here: a
    sender killed over and over before reaching it wears out no attempt."""
    with transaction.atomic():
        qs = Reminder.objects.emails().filter(
            Q(status=Status.PLANNED, run_date__lte=run_date)
            | Q(pk__in=retry_due(run_date, now).values("pk"))
        )
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        batch = list(
            qs.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .only(
                "pk",
                "customer_id",
                "step_id",
                "subject",
                "body_text",
                "body_html",
                "qr_payload",
                "recipients",
                "message_id",
                "attempts",
                "actor_id",
                "total_amount",
            )[:SEND_BATCH]
        )
        if batch:
            Reminder.objects.filter(pk__in=[r.pk for r in batch]).update(
                status=Status.SENDING,
                claimed_at=now,
                claim_token=token,
                handed_at=None,
                attempted_on=run_date,
            )
    return batch
