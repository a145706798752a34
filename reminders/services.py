"""Writes of the reminders app a person asks for: send now, log a call, tasks,
disputes, promises, pauses, and settling an email that failed or whose outcome is unknown
(letters have their own workflow: reminders/letters/workflow.py). Each writes an Activity
on the customer's timeline with its author. The daily run's entry points
(``reminders_run``, ``reminders_dry_run``) live in reminders/run/ and are offered here
too, beside the other writes.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access, webhooks
from core.confirm import raise_unless_confirmed
from customers.models import Activity, Customer
from receivables import bounds, figures
from receivables import services as receivables_services
from receivables.models import CompanyProfile, Dispute, Invoice, PromiseToPay
from reminders.models import (
    Reminder,
    ReminderItem,
)
from reminders.run import RunResult, reminders_dry_run, reminders_run, reminders_watchdog
from reminders.run import plan as planner
from reminders.run.claim import MAX_ATTEMPTS, cancel_stale_pending, persist_plans
from reminders.run.send import deliver
from reminders.run.state import load_state

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = ["RunResult", "reminders_dry_run", "reminders_run", "reminders_watchdog"]

Status = Reminder.Status
Channel = Reminder.Channel


# --- manual actions ---------------------------------------------------------------------


def send_now_holds(customer: Customer, today: datetime.date) -> list[str]:
    """What "Send now" would override on ``today``: a pause, a promise to pay that still
    holds reminders, an open dispute. Each is said in a sentence."""
    holds = []
    paused_until = customer.reminders_paused_until
    if paused_until is not None and customer.reminders_paused_on(today):
        holds.append(_("Reminders are paused until %(date)s.") % {"date": paused_until.isoformat()})
    grace = CompanyProfile.get().promise_grace_days
    promise = (
        PromiseToPay.objects.holding_on(today, grace_days=grace)
        .filter(customer=customer)
        .order_by("-created_at")
        .first()
    )
    if promise is not None:
        holds.append(
            _("A promise to pay %(amount)s by %(date)s is pending.")
            % {"amount": promise.amount, "date": promise.promised_date.isoformat()}
        )
    disputed = list(
        Dispute.objects.open()
        .filter(invoice__customer=customer)
        .values_list("invoice__number", flat=True)
    )
    if disputed:
        holds.append(_("%(invoices)s is disputed.") % {"invoices": ", ".join(sorted(disputed))})
    return holds


def reminder_send_now(
    *,
    customer: Customer,
    user: User,
    today: datetime.date | None = None,
    confirmed: bool = False,
) -> Reminder:
    """Send the customer's next email step now, whatever the daily cadence: every
    remindable installment moves to its next email step. Disputed and paid installments
    are still left out; the email is logged with the user as its actor. Over a pause, a
    pending promise or an open dispute it needs ``confirmed``, and the timeline records
    the override."""
    access.require(user, access.Action.EDIT_LEDGER)
    today = today or timezone.localdate()
    try:
        with transaction.atomic():
            Customer.objects.select_for_update().filter(pk=customer.pk).first()
            customer.refresh_from_db(fields=["reminders_paused_until"])
            holds = send_now_holds(customer, today)
            if Reminder.objects.in_flight().filter(customer=customer).exists():
                raise ValidationError(
                    _("An email to this customer is already being sent or needs checking.")
                )
            scenarios = planner.load_scenarios()
            state = load_state(
                last_day=today,
                scenarios=scenarios,
                customer_q=Q(invoice__customer=customer),
            )
            cstate = state.customers.get(customer.pk)
            plan = planner.plan_customer(cstate, today, scenarios, manual=True) if cstate else None
            if plan is None or not plan.emails:
                raise ValidationError(_("Nothing to remind: no installment awaits an email step."))
            raise_unless_confirmed(
                [_("%(hold)s Send a reminder anyway?") % {"hold": hold} for hold in holds],
                confirmed=confirmed,
            )
            created = persist_plans(plans=[plan], run_date=today, scenarios=scenarios, actor=user)
            if holds:
                Activity.objects.create(
                    customer=customer,
                    kind=Activity.Kind.NOTE,
                    author=user,
                    summary=(
                        _("Reminder sent now despite: %(holds)s") % {"holds": " ".join(holds)}
                    )[:255],
                    outcome="override",
                )
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
    user: User,
    kind: str = Activity.Kind.CALL,
    summary: str,
    body: str = "",
    outcome: str = "",
    next_action_date: datetime.date | None = None,
    task: Reminder | None = None,
) -> Activity:
    """Log a call or a note on the timeline; a call can close a phone task."""
    access.require(user, access.Action.ADD_NOTES)
    if kind not in (Activity.Kind.CALL, Activity.Kind.NOTE):
        raise ValidationError(_("Only a call or a note can be logged here."))
    if next_action_date is not None:
        bounds.refuse(bounds.from_today_refusals(next_action_date))
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
def task_complete(*, task: Reminder, user: User, note: str = "") -> Reminder:
    """Tick off a worklist task (a call, a collection hand-off)."""
    access.require(user, access.Action.EDIT_LEDGER)
    updated = Reminder.objects.filter(pk=task.pk, status=Status.TODO).update(
        status=Status.DONE, done_by=user, done_at=timezone.now(), note=note
    )
    if not updated:
        raise ValidationError(_("This task is already closed."))
    task.refresh_from_db()
    return task


@transaction.atomic
def dispute_open(*, invoice: Invoice, user: User, reason: str, description: str = "") -> Dispute:
    """Open a dispute: the invoice's reminders stop until it is resolved."""
    access.require(user, access.Action.EDIT_LEDGER)
    if not bounds.open_invoices(invoice.customer).filter(pk=invoice.pk).exists():
        raise ValidationError(
            _("Nothing is left to pay on %(number)s: only an open invoice can be disputed.")
            % {"number": invoice.number}
        )
    if Dispute.objects.open().filter(invoice=invoice).exists():
        raise ValidationError(_("This invoice already has an open dispute."))
    dispute = Dispute.objects.create(
        invoice=invoice, reason=reason, description=description, opened_by=user
    )
    figures.changed(customers=[invoice.customer_id])  # the forecast sets it apart
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
    webhooks.emit("dispute.opened", _dispute_event(dispute))
    return dispute


def _dispute_event(dispute: Dispute) -> dict:
    return {
        "dispute": dispute.pk,
        "invoice": dispute.invoice_id,
        "number": dispute.invoice.number,
        "customer": dispute.invoice.customer_id,
        "reason": dispute.reason,
        "resolution": dispute.resolution,
    }


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, user: User, resolution: str = "") -> Dispute:
    """Resolve a dispute: the invoice's reminders resume where they stopped."""
    access.require(user, access.Action.EDIT_LEDGER)
    updated = Dispute.objects.filter(pk=dispute.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=user, resolution=resolution
    )
    if not updated:
        raise ValidationError(_("This dispute is already resolved."))
    dispute.refresh_from_db()
    figures.changed(customers=[dispute.invoice.customer_id])
    Activity.objects.create(
        customer_id=dispute.invoice.customer_id,
        kind=Activity.Kind.DISPUTE,
        author=user,
        summary=(_("Dispute on %(invoice)s resolved") % {"invoice": dispute.invoice.number})[:255],
        body=resolution,
        outcome="resolved",
    )
    webhooks.emit("dispute.resolved", _dispute_event(dispute))
    return dispute


@transaction.atomic
def promise_record(
    *,
    customer: Customer,
    user: User,
    promised_date: datetime.date,
    amount: Decimal,
    invoices: list[Invoice] | None = None,
    note: str = "",
) -> PromiseToPay:
    """Record a promise to pay: reminders of the invoices it covers (all the customer's
    when none is named) stop until the promised date plus the grace period."""
    access.require(user, access.Action.ADD_NOTES)
    if amount <= 0:
        raise ValidationError(_("A promised amount must be positive."))
    invoices = list(invoices or [])
    if any(inv.customer_id != customer.pk for inv in invoices):
        raise ValidationError(_("That invoice belongs to another customer."))
    bounds.refuse(
        bounds.promise_refusals(
            customer=customer, promised_date=promised_date, amount=amount, invoices=invoices
        )
    )
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
    webhooks.emit(
        "promise.recorded",
        {
            "promise": promise.pk,
            "customer": customer.pk,
            "promised_date": promised_date,
            "amount": amount,
            "invoices": [inv.pk for inv in invoices],
        },
    )
    return promise


@transaction.atomic
def reminders_pause(
    *,
    customer: Customer,
    user: User,
    until: datetime.date | None,
    note: str = "",
    confirmed: bool = False,
) -> Customer:
    """Pause the customer's reminders up to and including ``until`` (None resumes). The
    day is today or later; a pause that ends earlier than the one in force (or resuming
    while one is in force) needs ``confirmed``, and the timeline says it was shortened."""
    access.require(user, access.Action.EDIT_LEDGER)
    today = timezone.localdate()
    if until is not None:
        bounds.refuse(bounds.from_today_refusals(until, today=today))
    current = (
        Customer.objects.select_for_update()
        .values_list("reminders_paused_until", flat=True)
        .get(pk=customer.pk)
    )
    # Ending a pause in force earlier, or resuming now, shortens it.
    in_force = current is not None and current >= today
    shortened = in_force and (until is None or (current is not None and until < current))
    if shortened:
        assert current is not None
        raise_unless_confirmed(
            [
                _("Reminders are already paused until %(current)s: end the pause earlier?")
                % {"current": current.isoformat()}
            ],
            confirmed=confirmed,
        )
    Customer.objects.filter(pk=customer.pk).update(reminders_paused_until=until)
    customer.reminders_paused_until = until
    if shortened and until is None:
        assert current is not None
        summary = _("Pause ended early: reminders resumed (they were paused until %(before)s)") % {
            "before": current.isoformat()
        }
    elif shortened:
        assert current is not None and until is not None
        summary = _("Pause shortened: reminders paused until %(date)s instead of %(before)s") % {
            "date": until.isoformat(),
            "before": current.isoformat(),
        }
    elif until:
        summary = _("Reminders paused until %(date)s") % {"date": until.isoformat()}
    else:
        summary = _("Reminders resumed")
    Activity.objects.create(
        customer=customer,
        kind=Activity.Kind.PAUSE,
        author=user,
        summary=summary,
        body=note,
        next_action_date=until,
    )
    return customer


# --- emails that failed or whose outcome is unknown (the worklist) ---------------------
# Letters have their own workflow (approve, store the PDF, record the posting, cancel):
# reminders/letters/workflow.py.


def reminder_retry_now(
    *, reminder: Reminder, user: User, today: datetime.date | None = None
) -> Reminder:
    """Retry a failed email now instead of waiting for its backoff: make it due, let the
    same check as the daily run cancel it if its amounts or situation changed meanwhile,
    then send it with its original Message-ID. Emails that failed too often are left to
    "cancel"."""
    access.require(user, access.Action.EDIT_LEDGER)
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        made_due = Reminder.objects.filter(
            pk=reminder.pk,
            channel=Reminder.Channel.EMAIL,
            status=Reminder.Status.FAILED,
            attempts__lt=MAX_ATTEMPTS,
        ).update(next_attempt_at=now)
    if not made_due:
        raise ValidationError(
            _(
                "This email cannot be retried (not failed, or failed too many times): cancel "
                "it, correct the contact if needed, and send a fresh reminder."
            )
        )
    cancel_stale_pending(run_date=today, now=now)
    deliver(run_date=today, now=now, ids=[reminder.pk])
    reminder.refresh_from_db()
    return reminder


@transaction.atomic
def reminder_mark_sent(*, reminder: Reminder, user: User) -> Reminder:
    """Record that finance staff checked an "unknown" email did leave (found in the mail
    server's log by its Message-ID). The next step's spacing counts from today."""
    access.require(user, access.Action.EDIT_LEDGER)
    reminder = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if reminder.channel != Channel.EMAIL or reminder.status != Status.UNKNOWN:
        raise ValidationError(_("This reminder cannot be marked as sent."))
    reminder.status = Status.SENT
    reminder.sent_at = reminder.sent_at or timezone.now()
    reminder.attempted_on = timezone.localdate()
    reminder.save(update_fields=["status", "sent_at", "attempted_on"])
    Activity.objects.create(
        customer_id=reminder.customer_id,
        kind=Activity.Kind.EMAIL,
        author=user,
        summary=(_("%(step)s sent") % {"step": reminder.step.display_name})[:255],
        outcome="sent",
    )
    return reminder


@transaction.atomic
def reminder_cancel(*, reminder: Reminder, user: User, reason: str = "") -> Reminder:
    """Cancel an email that did not leave (planned, failed, or unknown and checked as
    never sent): its installments may take that step again later. The row stays, with
    who cancelled it as its actor, and the timeline says so."""
    access.require(user, access.Action.EDIT_LEDGER)
    updated = Reminder.objects.filter(
        pk=reminder.pk,
        channel=Channel.EMAIL,
        status__in=[Status.PLANNED, Status.FAILED, Status.UNKNOWN],
    ).update(status=Status.CANCELLED, note=reason, next_attempt_at=None, actor=user)
    if not updated:
        raise ValidationError(_("This reminder cannot be cancelled."))
    ReminderItem.objects.filter(reminder=reminder).update(active=False)
    reminder.refresh_from_db()
    Activity.objects.create(
        customer_id=reminder.customer_id,
        kind=Activity.Kind.EMAIL,
        author=user,
        summary=(_("%(step)s cancelled") % {"step": reminder.step.display_name})[:255],
        body=reason,
        outcome="cancelled",
    )
    return reminder


# --- corrections of the ledger ----------------------------------------------------------

# What is still to happen: an email not sent (planned, failed, unknown), a letter not
# approved, a task not done. An email being sent now is left to its outcome.
IN_PROGRESS = (Status.PLANNED, Status.FAILED, Status.UNKNOWN, Status.AWAITING_APPROVAL, Status.TODO)


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, user: User, reason: str) -> Invoice:
    """Cancel an invoice with its reason (receivables.services.invoice_cancel: the
    allocations released, the timeline entry), then the reminders in progress that
    cover it: they said an amount that is no longer owed. A reminder that also covered
    other invoices is cancelled too; the next daily run plans a fresh one for what is
    still due. The reminder rows stay (the proof file), their items set inactive."""
    invoice = receivables_services.invoice_cancel(invoice=invoice, user=user, reason=reason)
    reminders_cancel_for_invoice(invoice=invoice, reason=reason)
    return invoice


def reminders_cancel_for_invoice(*, invoice: Invoice, reason: str) -> int:
    """Cancel the reminders in progress that cover one of ``invoice``'s installments;
    returns how many."""
    covering = ReminderItem.objects.filter(active=True, installment__invoice=invoice)
    ids = list(
        Reminder.objects.filter(status__in=IN_PROGRESS, pk__in=covering.values("reminder"))
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    note = _("Invoice %(number)s cancelled: %(reason)s") % {
        "number": invoice.number,
        "reason": reason,
    }
    Reminder.objects.filter(pk__in=ids).update(
        status=Status.CANCELLED, note=note, next_attempt_at=None
    )
    ReminderItem.objects.filter(reminder_id__in=ids).update(active=False)
    return len(ids)
