"""Writes of the reminders app: the daily run, sending, and the manual actions.

The daily run is exactly-once by construction:

1. the run's row (``ReminderRun``, one per date) is locked while planning, so two workers
   running the same date plan once; a rerun plans nothing already planned because an
   installment takes each step once (``ReminderItem``'s unique key, enforced by the
   database);
2. the intent is committed before anything leaves: an email is claimed with
   ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL), marked "sending" with its attempt
   count, claim time and a fixed Message-ID, and only then sent;
3. the outcome is recorded after: "sent" with the time, or "failed" with the error and
   the time of the next attempt (exponential backoff); a row left "sending" past a
   timeout (a crash between send and record) becomes "unknown" for a person to check,
   never re-sent automatically.

Manual actions (send now, log a call, disputes, promises, pauses) write an Activity on
the customer's timeline with their author.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from customers.models import Activity, Customer
from receivables.models import Dispute, Installment, Invoice, PromiseToPay
from reminders import emails as mail
from reminders import engine
from reminders.models import Reminder, ReminderItem, ReminderRun, ScenarioStep

logger = logging.getLogger(__name__)

Status = Reminder.Status
Channel = Reminder.Channel

SENDING_TIMEOUT = datetime.timedelta(minutes=30)
BACKOFF_BASE = datetime.timedelta(minutes=30)
BACKOFF_MAX = datetime.timedelta(hours=12)
MAX_ATTEMPTS = 6
SEND_BATCH = 200
BULK_BATCH = 2000

ACTION_CHANNEL = {
    engine.Action.EMAIL: Channel.EMAIL,
    engine.Action.LETTER: Channel.LETTER,
    engine.Action.PHONE: Channel.PHONE,
    engine.Action.COLLECTION: Channel.COLLECTION,
}


def backoff(attempts: int) -> datetime.timedelta:
    """30 min, 1 h, 2 h, 4 h... capped at 12 h: always shorter than a day, so the next
    daily run retries."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


@dataclass
class RunResult:
    run_date: datetime.date
    business_day: bool
    planned: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    plans: list[engine.CustomerPlan] = field(default_factory=list)
    retries: list[int] = field(default_factory=list)


# --- the daily run ----------------------------------------------------------------------


def reminders_run(*, run_date: datetime.date, now: datetime.datetime | None = None) -> RunResult:
    """The daily escalation as of ``run_date``: safe to rerun, and to run twice at once."""
    now = now or timezone.now()
    result = RunResult(run_date=run_date, business_day=engine.is_business_day(run_date))
    ReminderRun.objects.get_or_create(run_date=run_date)
    result.unknown = mark_stale_sending(now=now)
    if not result.business_day:
        return result
    with transaction.atomic():
        run = ReminderRun.objects.select_for_update().get(run_date=run_date)
        settle_promises(run_date=run_date)
        result.cancelled = cancel_stale_pending(run_date=run_date, now=now)
        scenarios = engine.load_scenarios()
        state = engine.load_state(last_day=run_date, scenarios=scenarios)
        plans = engine.plan_day(state, run_date, scenarios)
        result.planned = len(persist_plans(plans=plans, run_date=run_date, scenarios=scenarios))
        result.plans = plans
        ReminderRun.objects.filter(pk=run.pk).update(
            started_at=run.started_at or now, planned=F("planned") + result.planned
        )
    result.sent, result.failed = deliver(run_date=run_date, now=now)
    ReminderRun.objects.filter(run_date=run_date).update(
        finished_at=timezone.now(), sent=F("sent") + result.sent, failed=F("failed") + result.failed
    )
    logger.info(
        "reminders %s: planned %s, sent %s, failed %s, unknown %s",
        run_date,
        result.planned,
        result.sent,
        result.failed,
        result.unknown,
    )
    return result


def reminders_dry_run(
    *, run_date: datetime.date, now: datetime.datetime | None = None
) -> RunResult:
    """What ``run_date``'s run would do, writing nothing."""
    now = now or timezone.now()
    result = RunResult(run_date=run_date, business_day=engine.is_business_day(run_date))
    if not result.business_day:
        return result
    scenarios = engine.load_scenarios()
    state = engine.load_state(last_day=run_date, scenarios=scenarios)
    result.plans = engine.plan_day(state, run_date, scenarios)
    result.planned = len(result.plans)
    result.retries = list(_retry_due(run_date, now).values_list("pk", flat=True))
    return result


def mark_stale_sending(*, now: datetime.datetime) -> int:
    """A row still "sending" long after its claim means the process died between the
    SMTP send and the record: whether it left is unknown, so it is never re-sent
    automatically; finance staff check it with its Message-ID."""
    # Emails only: an approved letter stays "sending" until its posting is recorded.
    return (
        Reminder.objects.emails()
        .filter(status=Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT)
        .update(
            status=Status.UNKNOWN,
            last_error=_("Interrupted while sending: check with the Message-ID whether it left."),
        )
    )


def settle_promises(*, run_date: datetime.date) -> int:
    """Close the pending promises whose date plus grace has passed: kept when what they
    covered is paid, else broken (reminders resume, and the timeline says so)."""
    limit = run_date - datetime.timedelta(days=engine.company_profile().promise_grace_days)
    expired = PromiseToPay.objects.pending().filter(promised_date__lt=limit)
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
    expired.update(status=PromiseToPay.Status.KEPT)
    return len(broken)


def _retry_due(run_date: datetime.date, now: datetime.datetime):
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
    still says the truth: if an installment it lists was paid (even in part), disputed,
    promised, or its customer paused, cancel it; the planner then recomputes a fresh email
    for what is still due. Set-based: two reads and two updates."""
    pending = (
        Reminder.objects.emails()
        .filter(
            Q(status=Status.PLANNED, run_date__lt=run_date)
            | Q(pk__in=_retry_due(run_date, now).values("pk"))
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
    grace = datetime.timedelta(days=engine.company_profile().promise_grace_days)
    current = {
        row["pk"]: row
        for row in engine.reminder_base_installments()
        .filter(
            pk__in=ReminderItem.objects.filter(active=True, reminder__in=pending).values(
                "installment_id"
            )
        )
        .annotate(**engine._promise_subqueries())
        .values(
            "pk",
            "amount",
            "paid_amount",
            "promise_named",
            "promise_all",
            "invoice__customer__reminders_paused_until",
        )
    }
    stale: set[int] = set()
    for reminder_id, installment_id, amount_left in items:
        row = current.get(installment_id)
        if row is None or row["amount"] - row["paid_amount"] != amount_left:
            stale.add(reminder_id)
            continue
        promised = max((d for d in (row["promise_named"], row["promise_all"]) if d), default=None)
        paused = row["invoice__customer__reminders_paused_until"]
        if (promised and promised + grace >= run_date) or (paused and paused >= run_date):
            stale.add(reminder_id)
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
    plans: list[engine.CustomerPlan],
    run_date: datetime.date,
    scenarios: engine.Scenarios,
    actor=None,
) -> list[Reminder]:
    """Write the day's plans: one email per customer (rendered now, with its Message-ID),
    a letter awaiting approval, worklist tasks; then their items. A handful of queries
    whatever the number of customers."""
    if not plans:
        return []
    company = engine.company_profile()
    recipients = engine.load_recipients(p.customer.id for p in plans if p.emails)
    book = mail.TemplateBook() if any(p.emails for p in plans) else None
    reminders: list[Reminder] = []
    item_groups: list[list[engine.PlannedItem]] = []
    for plan in plans:
        cid = plan.customer.id
        if plan.emails:
            rec = recipients[cid]
            rendered = mail.render_email(plan=plan, recipients=rec, company=company, book=book)
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
        if plan.letters:
            step = max((i.step for i in plan.letters), key=lambda s: s.position)
            status = Status.AWAITING_APPROVAL if step.approval_required else Status.PLANNED
            total = sum((i.installment.amount_left for i in plan.letters), engine.ZERO)
            reminders.append(
                Reminder(
                    customer_id=cid,
                    step_id=step.id,
                    channel=Channel.LETTER,
                    status=status,
                    run_date=run_date,
                    language=plan.customer.language,
                    total_amount=total,
                    actor=actor,
                )
            )
            item_groups.append(plan.letters)
        by_step: dict[int, list[engine.PlannedItem]] = {}
        for item in plan.tasks:
            by_step.setdefault(item.step.id, []).append(item)
        for step_id, group in by_step.items():
            channel = ACTION_CHANNEL[group[0].step.action]
            total = sum((i.installment.amount_left for i in group), engine.ZERO)
            reminders.append(_task(cid, step_id, channel, run_date, actor, total))
            item_groups.append(group)
    Reminder.objects.bulk_create(reminders, batch_size=BULK_BATCH)
    items = [
        ReminderItem(
            reminder_id=reminder.pk,
            installment_id=item.installment.id,
            step_id=item.step.id,
            amount_left=item.installment.amount_left,
            days_late=item.days_late,
        )
        for reminder, group in zip(reminders, item_groups, strict=True)
        for item in group
    ]
    ReminderItem.objects.bulk_create(items, batch_size=BULK_BATCH)
    return reminders


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


# --- sending ----------------------------------------------------------------------------


def _claim(
    *, run_date: datetime.date, now: datetime.datetime, ids: list[int] | None
) -> list[Reminder]:
    """Claim a batch of emails to send: lock them (skipping rows another worker holds),
    mark them "sending" and count the attempt, and commit before anything leaves."""
    with transaction.atomic():
        qs = Reminder.objects.emails().filter(
            Q(status=Status.PLANNED, run_date__lte=run_date)
            | Q(pk__in=_retry_due(run_date, now).values("pk"))
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
                attempted_on=run_date,
                attempts=F("attempts") + 1,
            )
    return batch


def deliver(
    *, run_date: datetime.date, now: datetime.datetime | None = None, ids: list[int] | None = None
) -> tuple[int, int]:
    """Send the claimed emails batch by batch over one connection each, and record each
    outcome. Returns (sent, failed)."""
    now = now or timezone.now()
    sent_total = failed_total = 0
    reply_to = [e for e in [engine.company_profile().email] if e]
    while True:
        batch = _claim(run_date=run_date, now=now, ids=ids)
        if not batch:
            break
        outgoing = [
            mail.Outgoing(
                reminder_id=r.pk,
                subject=r.subject,
                body_text=r.body_text,
                body_html=r.body_html,
                to=list(r.recipients.get("to", [])),
                cc=list(r.recipients.get("cc", [])),
                message_id=r.message_id,
                reply_to=reply_to,
            )
            for r in batch
        ]
        outcome = mail.send_batch(outgoing)
        sent, failed = _record_outcomes(batch, outcome)
        sent_total += sent
        failed_total += failed
    return sent_total, failed_total


def _record_outcomes(batch: list[Reminder], outcome: dict[int, str | None]) -> tuple[int, int]:
    """Record what the server said: one update for the sent, one for the failed, and one
    timeline entry per sent email."""
    sent_at = timezone.now()
    ok = [r for r in batch if outcome.get(r.pk, "not attempted") is None]
    ko = [r for r in batch if outcome.get(r.pk, "not attempted") is not None]
    with transaction.atomic():
        if ok:
            Reminder.objects.filter(pk__in=[r.pk for r in ok], status=Status.SENDING).update(
                status=Status.SENT, sent_at=sent_at, last_error="", next_attempt_at=None
            )
            scenarios_names = dict(
                ScenarioStep.objects.filter(pk__in={r.step_id for r in ok}).values_list(
                    "pk", "name"
                )
            )
            Activity.objects.bulk_create(
                [_sent_activity(r, scenarios_names.get(r.step_id, ""), sent_at) for r in ok],
                batch_size=BULK_BATCH,
            )
        for r in ko:
            r.attempts += 1
            r.status = Status.FAILED
            r.last_error = outcome.get(r.pk) or ""
            r.next_attempt_at = sent_at + backoff(r.attempts) if r.attempts < MAX_ATTEMPTS else None
        if ko:
            Reminder.objects.bulk_update(
                ko, ["status", "last_error", "next_attempt_at"], batch_size=BULK_BATCH
            )
    for r in ko:
        logger.warning("reminders: reminder %s failed: %s", r.pk, r.last_error)
    return len(ok), len(ko)


def _sent_activity(reminder: Reminder, step_name: str, sent_at: datetime.datetime) -> Activity:
    to = ", ".join(reminder.recipients.get("to", []))
    return Activity(
        customer_id=reminder.customer_id,
        kind=Activity.Kind.EMAIL,
        author_id=reminder.actor_id,
        occurred_at=sent_at,
        summary=(_("%(step)s sent by email to %(to)s") % {"step": step_name, "to": to})[:255],
        body=f"{reminder.subject}\nMessage-ID: {reminder.message_id}",
        outcome="sent",
    )


# --- manual actions ---------------------------------------------------------------------


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("You are not allowed to do this."))


def reminder_send_now(*, customer: Customer, user, today: datetime.date | None = None) -> Reminder:
    """Send the customer's next email step now, whatever the daily cadence: every
    remindable installment moves to its next email step. Disputed and paid installments
    are still left out; the email is logged with the user as its actor."""
    _require(access.can_edit_ledger(user))
    today = today or timezone.localdate()
    try:
        with transaction.atomic():
            Customer.objects.select_for_update().filter(pk=customer.pk).first()
            if Reminder.objects.in_flight().filter(customer=customer).exists():
                raise ValidationError(
                    _("An email to this customer is already being sent or needs checking.")
                )
            scenarios = engine.load_scenarios()
            state = engine.load_state(
                last_day=today,
                scenarios=scenarios,
                customer_q=Q(invoice__customer=customer),
            )
            cstate = state.customers.get(customer.pk)
            plan = engine.plan_customer(cstate, today, scenarios, manual=True) if cstate else None
            if plan is None or not plan.emails:
                raise ValidationError(_("Nothing to remind: no installment awaits an email step."))
            created = persist_plans(plans=[plan], run_date=today, scenarios=scenarios, actor=user)
    except IntegrityError as exc:
        raise ValidationError(_("This reminder was just sent by someone else.")) from exc
    email = next(r for r in created if r.channel == Channel.EMAIL)
    deliver(run_date=today, ids=[email.pk])
    email.refresh_from_db()
    return email


@transaction.atomic
def activity_log(
    *,
    customer: Customer,
    user,
    kind: str = Activity.Kind.CALL,
    summary: str,
    body: str = "",
    outcome: str = "",
    next_action_date: datetime.date | None = None,
    task: Reminder | None = None,
) -> Activity:
    """Log a call or a note on the timeline; a call can close a phone task."""
    _require(access.can_add_notes(user))
    if kind not in (Activity.Kind.CALL, Activity.Kind.NOTE):
        raise ValidationError(_("Only a call or a note can be logged here."))
    activity = Activity.objects.create(
        customer=customer,
        kind=kind,
        author=user,
        summary=summary[:255],
        body=body,
        outcome=outcome,
        next_action_date=next_action_date,
    )
    if task is not None:
        task_complete(task=task, user=user, note=summary)
    return activity


@transaction.atomic
def task_complete(*, task: Reminder, user, note: str = "") -> Reminder:
    """Tick off a worklist task (a call, a collection hand-off)."""
    _require(access.can_edit_ledger(user))
    updated = Reminder.objects.filter(pk=task.pk, status=Status.TODO).update(
        status=Status.DONE, done_by=user, done_at=timezone.now(), note=note
    )
    if not updated:
        raise ValidationError(_("This task is already closed."))
    task.refresh_from_db()
    return task


@transaction.atomic
def dispute_open(*, invoice: Invoice, user, reason: str, description: str = "") -> Dispute:
    """Open a dispute: the invoice's reminders stop until it is resolved."""
    _require(access.can_edit_ledger(user))
    if Dispute.objects.open().filter(invoice=invoice).exists():
        raise ValidationError(_("This invoice already has an open dispute."))
    dispute = Dispute.objects.create(
        invoice=invoice, reason=reason, description=description, opened_by=user
    )
    Activity.objects.create(
        customer_id=invoice.customer_id,
        kind=Activity.Kind.DISPUTE,
        author=user,
        summary=(
            _("Dispute opened on %(invoice)s: %(reason)s")
            % {"invoice": invoice.number, "reason": dispute.get_reason_display()}
        )[:255],
        body=description,
        outcome="opened",
    )
    return dispute


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, user, resolution: str = "") -> Dispute:
    """Resolve a dispute: the invoice's reminders resume where they stopped."""
    _require(access.can_edit_ledger(user))
    updated = Dispute.objects.filter(pk=dispute.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=user, resolution=resolution
    )
    if not updated:
        raise ValidationError(_("This dispute is already resolved."))
    dispute.refresh_from_db()
    Activity.objects.create(
        customer_id=dispute.invoice.customer_id,
        kind=Activity.Kind.DISPUTE,
        author=user,
        summary=(_("Dispute on %(invoice)s resolved") % {"invoice": dispute.invoice.number})[:255],
        body=resolution,
        outcome="resolved",
    )
    return dispute


@transaction.atomic
def promise_record(
    *,
    customer: Customer,
    user,
    promised_date: datetime.date,
    amount: Decimal,
    invoices: list[Invoice] | None = None,
    note: str = "",
) -> PromiseToPay:
    """Record a promise to pay: reminders of the invoices it covers (all the customer's
    when none is named) stop until the promised date plus the grace period."""
    _require(access.can_add_notes(user))
    if amount <= 0:
        raise ValidationError(_("A promised amount must be positive."))
    invoices = list(invoices or [])
    if any(inv.customer_id != customer.pk for inv in invoices):
        raise ValidationError(_("That invoice belongs to another customer."))
    promise = PromiseToPay.objects.create(
        customer=customer, promised_date=promised_date, amount=amount, note=note, recorded_by=user
    )
    if invoices:
        promise.invoices.set(invoices)
    numbers = ", ".join(inv.number for inv in invoices)
    Activity.objects.create(
        customer=customer,
        kind=Activity.Kind.PROMISE,
        author=user,
        summary=(
            _("Promise to pay %(amount)s by %(date)s")
            % {"amount": amount, "date": promised_date.isoformat()}
            + (f" ({numbers})" if numbers else "")
        )[:255],
        body=note,
        outcome="pending",
        next_action_date=promised_date,
    )
    return promise


@transaction.atomic
def reminders_pause(
    *, customer: Customer, user, until: datetime.date | None, note: str = ""
) -> Customer:
    """Pause the customer's reminders up to and including ``until`` (None resumes)."""
    _require(access.can_edit_ledger(user))
    Customer.objects.filter(pk=customer.pk).update(reminders_paused_until=until)
    customer.reminders_paused_until = until
    summary = (
        _("Reminders paused until %(date)s") % {"date": until.isoformat()}
        if until
        else _("Reminders resumed")
    )
    Activity.objects.create(
        customer=customer,
        kind=Activity.Kind.PAUSE,
        author=user,
        summary=summary,
        body=note,
        next_action_date=until,
    )
    return customer


# --- letters and unknown sends (hooks for the letters module and the worklist) ---------


@transaction.atomic
def letter_approve(*, reminder: Reminder, user) -> Reminder:
    """Approve a formal-notice letter: it becomes "planned" for the letters module, which
    renders the PDF, posts it and calls :func:`reminder_mark_sent`."""
    _require(access.can_edit_ledger(user))
    updated = Reminder.objects.filter(
        pk=reminder.pk, channel=Channel.LETTER, status=Status.AWAITING_APPROVAL
    ).update(status=Status.PLANNED, approved_by=user, approved_at=timezone.now())
    if not updated:
        raise ValidationError(_("This letter is not awaiting approval."))
    reminder.refresh_from_db()
    return reminder


@transaction.atomic
def reminder_mark_sent(
    *, reminder: Reminder, user, tracking_number: str = "", sent_on: datetime.date | None = None
) -> Reminder:
    """Record that a letter was posted, or that finance staff checked an "unknown" email
    did leave. The next step's spacing counts from ``sent_on``."""
    _require(access.can_edit_ledger(user))
    reminder = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if reminder.status not in (Status.PLANNED, Status.UNKNOWN, Status.AWAITING_APPROVAL):
        raise ValidationError(_("This reminder cannot be marked as sent."))
    reminder.status = Status.SENT
    reminder.sent_at = reminder.sent_at or timezone.now()
    reminder.attempted_on = sent_on or timezone.localdate()
    reminder.tracking_number = tracking_number or reminder.tracking_number
    reminder.save(update_fields=["status", "sent_at", "attempted_on", "tracking_number"])
    kind = Activity.Kind.LETTER if reminder.channel == Channel.LETTER else Activity.Kind.EMAIL
    Activity.objects.create(
        customer_id=reminder.customer_id,
        kind=kind,
        author=user,
        summary=(_("%(step)s sent") % {"step": reminder.step.name})[:255],
        body=tracking_number,
        outcome="sent",
    )
    return reminder


@transaction.atomic
def reminder_cancel(*, reminder: Reminder, user, reason: str = "") -> Reminder:
    """Cancel a reminder that did not leave (an unknown email checked as never sent, a
    letter refused): its installments may take that step again later. The row stays."""
    _require(access.can_edit_ledger(user))
    updated = Reminder.objects.filter(
        pk=reminder.pk,
        status__in=[Status.PLANNED, Status.FAILED, Status.UNKNOWN, Status.AWAITING_APPROVAL],
    ).update(status=Status.CANCELLED, note=reason, next_attempt_at=None)
    if not updated:
        raise ValidationError(_("This reminder cannot be cancelled."))
    ReminderItem.objects.filter(reminder=reminder).update(active=False)
    reminder.refresh_from_db()
    return reminder
