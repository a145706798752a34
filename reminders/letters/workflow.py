"""The approval workflow of formal notices, and the reads of the letter pages.

A letter step of the scenario creates a ``Reminder`` (channel "letter", status
"awaiting_approval"). From there:

    awaiting_approval --approve--> sending --posted (tracking number)--> sent
            \\                         \\
             `--cancel--> cancelled    `--cancel--> cancelled

"sending" means approved, printed and about to be posted: an intent recorded before the
letter leaves, as for emails. A letter step that needs no approval (``approval_required``
off) is approved by the daily run itself, the day it plans it (``approved_by`` empty), and
starts at "sending". On approval the PDF is rendered by a django-q2 task queued
after commit and stored in ``Reminder.pdf``, once: the stored file is the proof of what
was sent and is never rendered again. A letter is dated the day it was approved, and its
figures (interest up to that date, deadline eight days later) are computed for that date.

A customer has at most one notice in progress (awaiting approval or "sending"; the
database refuses a second). When it is approved the notice claims every overdue,
undisputed installment of the customer at that moment: ``notice_record_claim`` writes
them as the notice's items, at the letter step, with the amounts claimed, and the
notice's total as ``total_amount``; the letters list, the worklist, the timeline, the
letter page and the PDF all read those figures. Every claimed installment has thereby
reached the letter step, so no milder email follows it; the customer's emails not sent
yet (planned, or failed and waiting for a retry) are cancelled, since the notice
supersedes them.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access, webhooks
from core.access import AnyUser
from customers.models import Activity
from receivables.models import Installment
from reminders.letters.context import (
    LetterContext,
    build_letter_context,
    letter_date_of,
    render_letter_pdf,
)
from reminders.models import Reminder, ReminderItem

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = Reminder.Status


# --- reads for the pages --------------------------------------------------------------------


def letters_visible(user: AnyUser) -> QuerySet[Reminder]:
    return (
        Reminder.objects.visible_to(user)
        .filter(channel=Reminder.Channel.LETTER)
        .select_related("customer", "step", "approved_by")
    )


def letters_worklist(*, user: AnyUser) -> dict[str, list[Reminder]]:
    """Letters to approve, approved ones to post, and the ones posted in the last 60 days
    (finance staff and managers, who only read them)."""
    _require_viewer(user)
    letters = letters_visible(user)
    recent = timezone.now() - datetime.timedelta(days=60)
    return {
        "to_approve": list(letters.filter(status=Status.AWAITING_APPROVAL).order_by("run_date")),
        "to_post": list(letters.filter(status=Status.SENDING).order_by("approved_at")),
        "posted": list(
            letters.filter(status=Status.SENT, sent_at__gte=recent).order_by("-sent_at")[:50]
        ),
    }


def letter_for_user(*, user: AnyUser, reminder_id: int) -> Reminder:
    """A letter the user may see (finance staff and managers), within their scope (404);
    only finance staff may then act on it."""
    _require_viewer(user)
    reminder = letters_visible(user).filter(pk=reminder_id).first()
    if reminder is None:
        raise Http404
    return reminder


def letter_to_handle(*, user: AnyUser, reminder_id: int) -> Reminder:
    """A letter the user may act on: as :func:`letter_for_user`, and finance staff only
    (403), checked before a form is read so that nobody else learns anything from it."""
    reminder = letter_for_user(user=user, reminder_id=reminder_id)
    _require_finance(user)
    return reminder


def letter_preview_pdf(*, reminder: Reminder) -> bytes:
    """The stored PDF once there is one; until then the letter rendered for its date."""
    if reminder.pdf:
        with reminder.pdf.open("rb") as f:
            return f.read()
    return render_letter_pdf(
        customer=reminder.customer, letter_date=letter_date_of(reminder), reminder=reminder
    )


# --- the workflow ----------------------------------------------------------------------------


def _require_viewer(user: AnyUser) -> None:
    access.require(
        user,
        access.Action.VIEW_LETTERS,
        _("Only finance staff and managers may see formal notices."),
    )


def _require_finance(user: AnyUser) -> None:
    access.require(
        user, access.Action.APPROVE_LETTERS, _("Only finance staff may handle formal notices.")
    )


def _lock_letter(user: AnyUser, reminder_id: int) -> Reminder:
    _require_finance(user)
    reminder = (
        Reminder.objects.visible_to(user)
        .select_for_update(of=("self",))
        .select_related("customer", "step")
        .filter(pk=reminder_id, channel=Reminder.Channel.LETTER)
        .first()
    )
    if reminder is None:
        raise Http404
    return reminder


def _log(reminder: Reminder, user: User | None, summary: str, body: str = "") -> None:
    Activity.objects.create(
        customer=reminder.customer,
        kind=Activity.Kind.LETTER,
        author=user,
        summary=summary[:255],
        body=body,
    )


@transaction.atomic
def letter_approve(*, user: User, reminder_id: int) -> Reminder:
    """Approve a formal notice: it is dated today, and its PDF is rendered and stored by
    a background task once this transaction commits. Refused when the customer has
    nothing overdue any more (cancel the letter instead)."""
    reminder = _lock_letter(user, reminder_id)
    if reminder.status != Status.AWAITING_APPROVAL:
        raise ValidationError(_("This letter is not awaiting approval."))
    now = timezone.now()
    context = build_letter_context(
        customer=reminder.customer, letter_date=timezone.localdate(now), reminder=reminder
    )
    reminder.status = Status.SENDING
    reminder.approved_by = user
    reminder.approved_at = now
    reminder.actor = user
    reminder.save(update_fields=["status", "approved_by", "approved_at", "actor"])
    notice_record_claim(reminder=reminder, context=context)
    _log(
        reminder,
        user,
        _("Formal notice approved (%(total)s)") % {"total": context.total},
        _("Letter %(ref)s, payment deadline %(deadline)s.")
        % {"ref": context.reference, "deadline": context.deadline.isoformat()},
    )
    notice_event("notice.approved", reminder, total=context.total)
    transaction.on_commit(lambda: queue_letter_render(reminder.pk))
    return reminder


def notice_event(event_type: str, reminder: Reminder, **extra: object) -> None:
    """Tell the webhooks a formal notice was approved or posted."""
    webhooks.emit(
        event_type,
        {
            "reminder": reminder.pk,
            "customer": reminder.customer_id,
            "step": reminder.step_id,
            "approved_at": reminder.approved_at,
            "tracking_number": reminder.tracking_number,
            "sent_at": reminder.sent_at,
            **extra,
        },
    )


def notice_record_claim(*, reminder: Reminder, context: LetterContext) -> None:
    """Record what a notice claims, as computed for its date (``context``): one item per
    claimed installment at the letter step, with the amount claimed and the days late,
    and the letter's total. Items planned for installments it no longer claims (paid,
    disputed meanwhile) are set inactive. An installment an earlier notice already
    claimed (its live item at the letter step is there) is listed too, but inactive: it
    took the letter step once, with that notice, and its scenario goes on from there.
    The customer's unsent emails are cancelled: the notice supersedes them. Call it
    inside the transaction that approves or plans the notice."""
    claimed = {
        installment_id: amount
        for claim in context.claim.invoices
        for installment_id, amount in claim.installments
    }
    due_dates = dict(Installment.objects.filter(pk__in=claimed).values_list("pk", "due_date"))
    ReminderItem.objects.filter(reminder=reminder).exclude(installment_id__in=claimed).update(
        active=False
    )
    held_elsewhere = set(
        ReminderItem.objects.filter(
            installment_id__in=claimed, step_id=reminder.step_id, active=True
        )
        .exclude(reminder=reminder)
        .values_list("installment_id", flat=True)
    )
    mine = {i.installment_id: i for i in ReminderItem.objects.filter(reminder=reminder)}
    for installment_id, amount in claimed.items():
        days_late = (context.letter_date - due_dates[installment_id]).days
        active = installment_id not in held_elsewhere
        item = mine.get(installment_id)
        if item is None:
            ReminderItem.objects.create(
                reminder=reminder,
                installment_id=installment_id,
                step_id=reminder.step_id,
                amount_left=amount,
                days_late=days_late,
                active=active,
            )
        else:
            item.amount_left, item.days_late, item.active = amount, days_late, active
            item.save(update_fields=["amount_left", "days_late", "active"])
    reminder.total_amount = context.total_amount
    reminder.save(update_fields=["total_amount"])
    superseded = list(
        Reminder.objects.emails()
        .filter(customer_id=reminder.customer_id, status__in=[Status.PLANNED, Status.FAILED])
        .values_list("pk", flat=True)
    )
    if superseded:
        Reminder.objects.filter(pk__in=superseded).update(
            status=Status.CANCELLED,
            next_attempt_at=None,
            last_error=_("Cancelled: superseded by the formal notice %(ref)s.")
            % {"ref": context.reference},
        )
        ReminderItem.objects.filter(reminder__in=superseded).update(active=False)


def queue_letter_render(reminder_id: int) -> None:
    """Queue the rendering and storing of an approved letter's PDF (call it on commit)."""
    from django_q.tasks import async_task

    async_task(
        "reminders.letters.tasks.render_approved_letter",
        reminder_id,
        task_name=f"letter-{reminder_id}",
    )


@transaction.atomic
def letter_cancel(*, user: User, reminder_id: int, reason: str = "") -> Reminder:
    """Cancel a letter not posted yet. As for any cancelled reminder, its items are set
    inactive, which lets the scenario take the step again if the debt remains."""
    reminder = _lock_letter(user, reminder_id)
    if reminder.status not in (Status.AWAITING_APPROVAL, Status.SENDING):
        raise ValidationError(_("Only a letter not posted yet can be cancelled."))
    reminder.status = Status.CANCELLED
    reminder.actor = user
    reminder.note = "\n".join(p for p in (reminder.note, reason.strip()) if p)
    reminder.save(update_fields=["status", "actor", "note"])
    ReminderItem.objects.filter(reminder=reminder).update(active=False)
    _log(reminder, user, _("Formal notice cancelled"), reason.strip())
    return reminder


@transaction.atomic
def letter_record_posting(
    *, user: User, reminder_id: int, tracking_number: str, posted_on: datetime.date | None = None
) -> Reminder:
    """Record the registered-post number of an approved, stored letter: the letter is
    sent as of the posting day, from which the scenario counts its next step."""
    reminder = _lock_letter(user, reminder_id)
    tracking_number = " ".join(tracking_number.split()).upper()
    if reminder.status != Status.SENDING:
        raise ValidationError(_("Only an approved letter not posted yet can be posted."))
    if not reminder.pdf:
        raise ValidationError(_("The letter's PDF is not stored yet: wait for it, then post."))
    if not 6 <= len(tracking_number) <= 60:
        raise ValidationError(_("Enter the registered-post number (6 to 60 characters)."))
    today = timezone.localdate()
    posted_on = posted_on or today
    if posted_on > today or posted_on < timezone.localdate(reminder.approved_at):
        raise ValidationError(_("The posting date must lie between approval and today."))
    reminder.tracking_number = tracking_number
    reminder.status = Status.SENT
    reminder.attempted_on = posted_on
    reminder.sent_at = timezone.now() if posted_on == today else _noon(posted_on)
    reminder.save(update_fields=["tracking_number", "status", "attempted_on", "sent_at"])
    _log(
        reminder,
        user,
        _("Formal notice posted, registered letter %(number)s") % {"number": tracking_number},
    )
    notice_event("notice.posted", reminder)
    return reminder


def _noon(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def letter_store_pdf(*, reminder_id: int) -> str | None:
    """Render an approved letter as of its approval day and store it, once. Returns the
    stored file's SHA-256, or None when there was nothing to do (already stored,
    cancelled meanwhile). The slow rendering happens outside any transaction; the row
    is then locked and the file saved only if no PDF was stored in between."""
    reminder = Reminder.objects.select_related("customer").get(pk=reminder_id)
    if reminder.pdf or reminder.approved_at is None or reminder.status != Status.SENDING:
        logger.info("Letter %s: nothing to render (%s).", reminder_id, reminder.status)
        return None
    pdf = render_letter_pdf(
        customer=reminder.customer, letter_date=letter_date_of(reminder), reminder=reminder
    )
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        locked = Reminder.objects.select_for_update().get(pk=reminder_id)
        if locked.pdf or locked.status != Status.SENDING:
            return None
        name = f"mise-en-demeure-{reminder.customer.customer_ref}-{reminder_id}.pdf"
        locked.pdf.save(name, ContentFile(pdf), save=False)
        Reminder.objects.filter(pk=reminder_id, pdf="").update(pdf=locked.pdf.name)
        _log(
            locked,
            None,
            _("Formal notice PDF stored (%(name)s)") % {"name": locked.pdf.name},
            f"SHA-256: {digest}",
        )
    return digest
